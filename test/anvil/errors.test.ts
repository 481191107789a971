/**
 * An RPC's own error detail survives into the node's log lines (issue 15): checked against the
 * errors a real anvil answers, not against hand-made ones.
 */
import { expect } from "chai";
import { createPublicClient, http } from "viem";

import { errorText } from "../../relayer/log.js";
import { startAnvil, type Anvil } from "./anvil.js";

describe("anvil: RPC error details in log lines", function () {
  let anvil: Anvil;
  before(async () => (anvil = await startAnvil({ chainId: 0xe1e1 })));
  after(async () => anvil?.stop());

  it("keeps viem's `details` (the client's own message) in errorText", async function () {
    const client = createPublicClient({ transport: http(anvil.url, { retryCount: 0 }) });
    const failed = await client.getLogs({ fromBlock: 1_000_000n, toBlock: 1_000_001n }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed, "anvil refuses a range above its tip").to.be.instanceOf(Error);
    const text = errorText(failed);
    expect(text).to.contain("Invalid parameters were provided to the RPC method.");
    expect(text).to.match(/BlockOutOfRange|block height/i);
  });
});
