// The DistPOS explorer: a plain page over the node's JSON API (relayer/README.md, HTTP API).
// No build step, no framework: everything below runs as written in any current browser.
"use strict";

const params = new URLSearchParams(location.search);
const API = (params.get("node") || location.origin).replace(/\/+$/, "");
const ID = /^0x[0-9a-fA-F]{64}$/;
let refresh;

const $ = (sel) => document.querySelector(sel);

/** An element with attributes and children (strings become text, never HTML). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function api(path) {
  const res = await fetch(`${API}${path}`, { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

const short = (h) =>
  typeof h === "string" && h.length > 20 ? `${h.slice(0, 10)}…${h.slice(-6)}` : h;
const link = (q, text) =>
  el(
    "a",
    {
      href: `?${new URLSearchParams({ ...(params.get("node") ? { node: API } : {}), q })}`,
      onclick: (e) => {
        e.preventDefault();
        go(q);
      },
    },
    text ?? short(q),
  );
const badge = (status) => el("span", { class: `badge ${status}`, "data-testid": "status" }, status);

function show(...nodes) {
  const r = $("#result");
  r.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

async function go(q, { quiet = false } = {}) {
  q = q.trim();
  clearTimeout(refresh);
  $("#q").value = q;
  const url = new URL(location.href);
  url.searchParams.set("q", q);
  history.replaceState(null, "", url);
  if (!quiet) show(el("p", {}, "looking up ", el("code", {}, q), "…"));
  try {
    if (ID.test(q)) {
      const m = await api(`/v1/messages/${q}`);
      if (m.status === 200) return renderMessage(m.body, q);
      if (m.status !== 404) return fail(m);
      const t = await api(`/v1/tx/${q}`);
      if (t.status === 200) return renderTx(t.body, q);
      if (t.status === 404)
        return show(
          el(
            "p",
            { class: "error" },
            `No message with this id and no transaction with this hash on the chains this node reads.`,
          ),
        );
      return fail(t);
    }
    if (/^[0-9a-fA-F]{1,16}x/.test(q) || /^0x[0-9a-fA-F]{40}$/.test(q)) {
      const a = await api(`/v1/address/${encodeURIComponent(q)}`);
      return a.status === 200 ? renderAddress(a.body) : fail(a);
    }
    show(
      el(
        "p",
        { class: "error" },
        "Type a message id or a transaction hash (0x + 64 hex digits), or a chain-qualified address (<code>x<account>).",
      ),
    );
  } catch (e) {
    show(el("p", { class: "error" }, `The node at ${API} did not answer: ${e.message}`));
  }
}

function fail(r) {
  show(
    el(
      "p",
      { class: "error" },
      `The node answered ${r.status}: ${r.body.error ?? JSON.stringify(r.body)}`,
    ),
  );
}

function renderTx(t, q) {
  // One message dispatched by this transaction: show it straight away.
  if (t.dispatched.length === 1) {
    return api(`/v1/messages/${t.dispatched[0].id}`).then((m) => {
      if (m.status === 200) return renderMessage(m.body, q, t);
      if (m.status !== 404) return fail(m);
      // Dispatched, but the node indexes only confirmed blocks: look again shortly.
      show(
        el("h2", {}, "Message ", el("code", {}, short(t.dispatched[0].id)), " ", badge("pending")),
        el(
          "p",
          {},
          `dispatched by ${short(t.tx)} on chain ${t.chain} (${t.chainName}), block ${t.block}; waiting for the node to index it once the block is confirmed…`,
        ),
      );
      refresh = setTimeout(() => go(q, { quiet: true }), 2000);
    });
  }
  show(
    el("h2", {}, "Transaction ", el("code", {}, short(t.tx))),
    el("p", {}, `on chain ${t.chain} (${t.chainName}), block ${t.block}, ${t.status}`),
    t.dispatched.length
      ? el(
          "div",
          {},
          el("h3", {}, "Messages it dispatched"),
          list(t.dispatched.map((d) => [link(d.id), `nonce ${d.nonce} → chain ${d.destination}`])),
        )
      : null,
    t.delivered.length
      ? el(
          "div",
          {},
          el("h3", {}, "Messages it delivered"),
          list(t.delivered.map((d) => [link(d.id), "its journey shows where it came from"])),
        )
      : null,
    !t.dispatched.length && !t.delivered.length
      ? el("p", {}, "It neither dispatched nor delivered a DistPOS message.")
      : null,
  );
}

const list = (rows) =>
  el(
    "ul",
    {},
    rows.map((r) => el("li", {}, ...r.flatMap((x) => [x, " "]))),
  );

function step(state, title, ...body) {
  return el(
    "li",
    { class: state, "data-step": title.toLowerCase().split(" ")[0] },
    el("strong", {}, title),
    el("div", {}, ...body),
  );
}

/** The bundle hand-over as this (origin) node ran it: waiting, or accepted by which entry node. */
function handoverStep(h, chain) {
  if (h.state === "waiting")
    return step(
      "wait",
      "Hand-over",
      `waiting to be handed to an entry node of chain ${chain}`,
      h.refused ? ` (last refused: ${h.refused})` : "",
    );
  return step(
    "done",
    "Hand-over",
    h.node ? `accepted by entry node ${h.node}` : `pulled by a node of chain ${chain}`,
    h.count !== undefined ? `, proven under the checkpoint of ${h.count} messages` : "",
    h.acceptedAt ? `, at ${new Date(h.acceptedAt).toISOString()}` : "",
  );
}

function renderMessage(j, q, tx) {
  const m = j.message;
  const d = j.destination;
  const steps = [];
  steps.push(
    j.origin.status === "dispatched"
      ? step(
          "done",
          "Dispatched",
          `on chain ${j.origin.chain}, nonce ${j.origin.nonce}, block ${j.origin.block}, transaction `,
          link(j.origin.tx, short(j.origin.tx)),
        )
      : step(
          "bad",
          "Handed over by a peer node",
          `claims chain ${j.origin.chain}, nonce ${j.origin.nonce}; not found in that chain's Outbox`,
        ),
  );
  if (j.checkpoint)
    steps.push(
      step(
        j.checkpoint.signers.length ? "done" : "wait",
        "Checkpoint",
        `snapshot of ${j.checkpoint.count} messages (root ${short(j.checkpoint.root)}, block ${j.checkpoint.block}); `,
        j.checkpoint.signers.length
          ? `signed by ${j.checkpoint.signers.map(short).join(", ")}`
          : "no signature known to this node yet",
      ),
    );
  else if (j.verified)
    steps.push(
      step("wait", "Checkpoint", "waiting for a snapshot of the origin's Outbox that covers it"),
    );
  if (j.handover) steps.push(handoverStep(j.handover, d.chain));
  if (Array.isArray(j.coverage)) {
    const charged = j.coverage.length
      ? `vouched for by ${j.coverage.map((c) => `${short(c.attester)} (${c.amount} charged)`).join(", ")} in the batch that carried it`
      : "no attester stake charged: the batch that carried it had no value at risk";
    // Read from the destination's node when this node has no RPC of that chain.
    const from = j.coverageReportedBy ? ` (as ${j.coverageReportedBy} reports it)` : "";
    steps.push(step("done", "Signers and coverage", charged + from));
  }
  const unconfirmed =
    d.confirmed === false ? " (seen on its Inbox; waiting for the block to be confirmed)" : "";
  if (d.status === "delivered")
    steps.push(
      step(
        "done",
        "Delivered",
        `on chain ${d.chain}${unconfirmed}`,
        d.block ? `, block ${d.block}, transaction ` : "",
        d.tx ? link(d.tx, short(d.tx)) : "",
      ),
    );
  else if (d.status === "failed")
    steps.push(
      step(
        "bad",
        d.failureKind === "PayoutPending" ? "Payout pending" : "Delivered, handler failed",
        `on chain ${d.chain}${unconfirmed}`,
        d.tx ? [", transaction ", link(d.tx, short(d.tx))] : "",
        el(
          "div",
          {},
          "kind: ",
          el("code", { "data-testid": "failure-kind" }, d.failureKind ?? "?"),
        ),
        d.reasonText
          ? el("div", {}, "reason: ", el("code", { "data-testid": "reason" }, d.reasonText))
          : null,
      ),
    );
  else if (d.status === "unverified")
    steps.push(step("bad", "Unverified", "no Outbox this node reads dispatched it"));
  else if (d.status === "underpaid")
    steps.push(
      step(
        "wait",
        "Underpaid",
        `the relayer holds it: fees ${formatAmount(d.fees.fee)} (top-ups ${formatAmount(d.fees.topUps)}) below the ${formatAmount(d.fees.needed)} tokens it asks to deliver to chain ${d.chain}`,
      ),
    );
  else
    steps.push(
      step(
        "wait",
        "Pending",
        `not delivered on chain ${d.chain} yet`,
        d.error ? ` (${d.error})` : "",
      ),
    );

  show(
    el(
      "h2",
      {},
      "Message ",
      el("code", { "data-testid": "message-id" }, short(j.id)),
      " ",
      badge(j.status),
    ),
    tx
      ? el(
          "p",
          {},
          "found by its dispatch transaction ",
          el("code", {}, short(tx.tx)),
          ` on chain ${tx.chain}`,
        )
      : null,
    el(
      "table",
      {},
      el("tr", {}, el("th", {}, "from"), el("td", { class: "mono" }, m.from)),
      el("tr", {}, el("th", {}, "to"), el("td", { class: "mono" }, m.to)),
      el("tr", {}, el("th", {}, "amount"), el("td", {}, `${formatAmount(m.amount)} tokens`)),
      el("tr", {}, el("th", {}, "fee"), el("td", {}, `${formatAmount(m.fee ?? "0")} tokens`)),
      el(
        "tr",
        {},
        el("th", {}, "body"),
        el("td", { class: "mono" }, m.body === "0x" ? "(empty)" : short(m.body)),
      ),
      el("tr", {}, el("th", {}, "id"), el("td", { class: "mono" }, j.id)),
    ),
    el("h3", {}, "Journey"),
    el("ol", { class: "journey" }, steps),
    el("h3", {}, "What to do next"),
    el(
      "div",
      { class: "next", "data-testid": "next" },
      j.next.map((n) => el("p", {}, n)),
    ),
    j.notes?.length ? el("p", { class: "error" }, j.notes.join("; ")) : null,
    el(
      "details",
      {},
      el("summary", {}, "encoded message (the argument of Inbox.retry)"),
      el("code", {}, j.encoded),
    ),
  );
  // Keep following a message on its way, and a delivery until its block is confirmed.
  if (
    j.status === "pending" ||
    j.status === "underpaid" ||
    j.status === "unknown" ||
    d.confirmed === false
  )
    refresh = setTimeout(() => go(q, { quiet: true }), 2000);
}

function formatAmount(wei) {
  const s = BigInt(wei).toString().padStart(19, "0");
  const whole = s.slice(0, -18).replace(/^0+(?=\d)/, "");
  const frac = s.slice(-18).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

function renderAddress(a) {
  const rows = (xs) =>
    xs.length
      ? el(
          "table",
          {},
          el(
            "tr",
            {},
            el("th", {}, "message"),
            el("th", {}, "route"),
            el("th", {}, "amount"),
            el("th", {}, "block"),
          ),
          xs.map((x) =>
            el(
              "tr",
              {},
              el("td", {}, link(x.id)),
              el("td", {}, `${x.origin} → ${x.destination}`),
              el("td", {}, x.amount),
              el("td", {}, x.block),
            ),
          ),
        )
      : el("p", {}, "none");
  show(
    el("h2", {}, "Address ", el("code", {}, a.address)),
    el(
      "p",
      {},
      `chain ${a.chain}; Dispatch events of the last ${a.lookbackBlocks} blocks of each chain`,
    ),
    el("h3", {}, "Sent"),
    rows(a.sent),
    el("h3", {}, "Received"),
    rows(a.received),
    a.errors.length ? el("p", { class: "error" }, a.errors.join("; ")) : null,
  );
}

async function loadRoutes() {
  const r = await api("/v1/routes/state").catch((e) => ({ status: 0, body: { error: e.message } }));
  if (r.status !== 200) {
    $("#routes-body").replaceChildren(
      el("p", { class: "error" }, r.body.error ?? `HTTP ${r.status}`),
    );
    return;
  }
  const head = el(
    "tr",
    {},
    [
      "route",
      "reserve held by destination",
      "credit",
      "attesters: stake / allocated / mirrored / headroom",
      "headroom",
      "backlog",
    ].map((h) => el("th", {}, h)),
  );
  const rows = r.body.routes.map((x) =>
    el(
      "tr",
      { "data-route": `${x.origin}-${x.destination}` },
      el("td", {}, `${x.origin} → ${x.destination}`),
      el("td", {}, x.reserve ?? "?"),
      el("td", {}, x.credit ?? "?"),
      el(
        "td",
        {},
        x.attesters.map((a) =>
          el(
            "div",
            { class: "mono" },
            `${short(a.address)}: ${a.slashed ? "slashed" : `${a.bonded} / ${a.allocated} / ${a.mirrored} / ${a.headroom}`}`,
          ),
        ),
      ),
      el("td", {}, x.headroom ?? "?"),
      el(
        "td",
        {},
        x.backlog
          ? `${x.backlog.size} waiting${x.backlog.size ? `, oldest ${x.backlog.oldestAgeSeconds} s` : ""}`
          : "not relayed here",
      ),
    ),
  );
  const errors = r.body.routes.flatMap((x) => x.errors);
  $("#routes-body").replaceChildren(
    el("table", {}, head, rows),
    errors.length ? el("p", { class: "error" }, [...new Set(errors)].join("; ")) : "",
  );
}

async function start() {
  $("#search").addEventListener("submit", (e) => {
    e.preventDefault();
    go($("#q").value);
  });
  const h = await api("/v1/health").catch((e) => ({ status: 0, body: { error: e.message } }));
  $("#node").textContent = h.body.home
    ? `node of chain ${h.body.home} at ${API} — ${h.body.status}${h.body.problems?.length ? `: ${h.body.problems.join("; ")}` : ""}`
    : `the node at ${API} did not answer: ${h.body.error ?? h.status}`;
  if (params.get("q")) go(params.get("q"));
  await loadRoutes();
}

start();
