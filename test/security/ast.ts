/**
 * Reads the compiler's ASTs (Hardhat's build infos) to list, for every contract of the suite, its
 * state-changing external functions, which caller each one is gated on, and which token movements
 * each one can reach through internal and external calls. Used by privileged.test.ts.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

import { ethers } from "ethers";

// The solc AST is large and loosely typed; these tests read only a few fields of it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = { id: number; nodeType: string; [key: string]: any };

const ROOT = join(import.meta.dirname, "..", "..");
const ARTIFACTS = join(ROOT, "artifacts");

/** Directories of the contracts that are deployed (not interfaces, libraries or test helpers). */
export const PRODUCTION_DIRS = ["messaging", "staking", "correspondent", "governance", "examples"];

/** Token functions that move or authorise moving tokens. */
const TOKEN_MOVES = new Set([
  "transfer",
  "transferFrom",
  "approve",
  "safeTransfer",
  "safeTransferFrom",
  "trySafeTransfer",
  "trySafeTransferFrom",
  "forceApprove",
  "safeIncreaseAllowance",
  "safeDecreaseAllowance",
  "transferAndCall",
  "transferFromAndCall",
  "approveAndCall",
]);
const TOKEN_SCOPES = new Set(["SafeERC20", "IERC20", "IERC20Metadata", "ERC20", "IERC1363"]);

class BuildInfo {
  readonly nodes = new Map<number, Node>();
  readonly parent = new Map<number, Node>();
  readonly sources = new Map<string, string>();

  constructor(id: string) {
    const output = JSON.parse(
      readFileSync(join(ARTIFACTS, "build-info", `${id}.output.json`), "utf8"),
    );
    const input = JSON.parse(readFileSync(join(ARTIFACTS, "build-info", `${id}.json`), "utf8"));
    for (const [name, source] of Object.entries<{ content: string }>(input.input.sources)) {
      this.sources.set(name, source.content);
    }
    const files = new Map<number, string>();
    for (const [name, source] of Object.entries<{ ast: Node; id: number }>(output.output.sources)) {
      files.set(source.id, name);
      this.index(source.ast, undefined);
    }
    this.files = files;
  }

  files: Map<number, string>;

  private index(node: unknown, parent: Node | undefined): void {
    if (Array.isArray(node)) {
      for (const child of node) this.index(child, parent);
      return;
    }
    if (!node || typeof node !== "object") return;
    const n = node as Node;
    if (typeof n.id === "number" && typeof n.nodeType === "string") {
      this.nodes.set(n.id, n);
      if (parent) this.parent.set(n.id, parent);
      parent = n;
    }
    for (const [key, value] of Object.entries(n)) {
      if (key === "typeDescriptions") continue;
      if (value && typeof value === "object") this.index(value, parent);
    }
  }

  /** Source text of a node. */
  text(node: Node): string {
    const [start, length, file] = String(node.src).split(":").map(Number);
    const source = this.sources.get(this.files.get(file)!) ?? "";
    return Buffer.from(source, "utf8")
      .subarray(start, start + length)
      .toString("utf8");
  }

  /** The contract a node is declared in. */
  contractOf(node: Node): Node | undefined {
    let current: Node | undefined = node;
    while (current && current.nodeType !== "ContractDefinition")
      current = this.parent.get(current.id);
    return current;
  }
}

const infos = new Map<string, BuildInfo>();
function buildInfo(id: string): BuildInfo {
  let info = infos.get(id);
  if (!info) infos.set(id, (info = new BuildInfo(id)));
  return info;
}

/** A state-changing external function of a deployed contract. */
export interface ExternalFunction {
  contract: string;
  name: string;
  selector: string;
  def: Node;
  info: BuildInfo;
  /** The caller check that guards it, as written in the source (undefined: anyone may call). */
  gate?: string;
}

/** Every deployed contract's state-changing external functions, from the artifacts and their ASTs. */
export function externalFunctions(): ExternalFunction[] {
  const out: ExternalFunction[] = [];
  for (const dir of PRODUCTION_DIRS) {
    const base = join(ARTIFACTS, "contracts", dir);
    if (!existsSync(base)) continue;
    for (const file of readdirSync(base)) {
      for (const entry of readdirSync(join(base, file))) {
        if (!entry.endsWith(".json")) continue;
        const artifact = JSON.parse(readFileSync(join(base, file, entry), "utf8"));
        if (artifact.bytecode === "0x") continue; // abstract
        const info = buildInfo(artifact.buildInfoId);
        const contract = [...info.nodes.values()].find(
          (n) =>
            n.nodeType === "ContractDefinition" &&
            n.name === artifact.contractName &&
            info.files.get(Number(String(n.src).split(":")[2])) === artifact.inputSourceName,
        );
        if (!contract) throw new Error(`no AST for ${artifact.contractName}`);
        const iface = new ethers.Interface(artifact.abi);
        iface.forEachFunction((fragment) => {
          if (fragment.stateMutability === "view" || fragment.stateMutability === "pure") return;
          const selector = fragment.selector.slice(2);
          const def = findImplementation(info, contract, selector);
          if (!def)
            throw new Error(`no implementation of ${artifact.contractName}.${fragment.name}`);
          out.push({
            contract: artifact.contractName,
            name: fragment.name,
            selector,
            def,
            info,
            gate: gateOf(info, def),
          });
        });
      }
    }
  }
  return out;
}

function findImplementation(info: BuildInfo, contract: Node, selector: string): Node | undefined {
  for (const baseId of contract.linearizedBaseContracts as number[]) {
    const base = info.nodes.get(baseId)!;
    for (const member of base.nodes as Node[]) {
      if (
        member.nodeType === "FunctionDefinition" &&
        member.functionSelector === selector &&
        member.implemented
      ) {
        return member;
      }
      // A public state variable's getter is a view: never reached here.
    }
  }
  return undefined;
}

/** Whether `node` is the caller itself: `msg.sender`, `_msgSender()`, or a local set to either. */
function isCaller(info: BuildInfo, node: Node | undefined): boolean {
  if (!node) return false;
  if (
    node.nodeType === "MemberAccess" &&
    node.memberName === "sender" &&
    node.expression?.name === "msg"
  )
    return true;
  if (node.nodeType === "FunctionCall" && node.expression?.name === "_msgSender") return true;
  if (node.nodeType === "Identifier" && typeof node.referencedDeclaration === "number") {
    const decl = info.nodes.get(node.referencedDeclaration);
    if (decl?.nodeType === "VariableDeclaration" && !decl.stateVariable) {
      const statement = info.parent.get(decl.id);
      return (
        statement?.nodeType === "VariableDeclarationStatement" &&
        isCaller(info, statement.initialValue)
      );
    }
  }
  return false;
}

/**
 * Whether `node` checks who the caller is: compares the caller with something (`==`, `!=`) or
 * hands the caller to a check (`hasRole(role, msg.sender)`, `_checkRole(role, _msgSender())`).
 */
function readsCaller(info: BuildInfo, node: unknown): boolean {
  let found = false;
  walk(node, (n) => {
    if (found) return;
    if (n.nodeType === "BinaryOperation" && (n.operator === "==" || n.operator === "!=")) {
      if (isCaller(info, n.leftExpression) || isCaller(info, n.rightExpression)) found = true;
    } else if (
      n.nodeType === "FunctionCall" &&
      (n.arguments as Node[]).some((arg) => isCaller(info, arg))
    ) {
      found = true;
    }
  });
  return found;
}

/** Whether `node` refers to a parameter of the function `fn`. */
function isParameterOf(info: BuildInfo, node: Node, fn: Node): boolean {
  if (node.nodeType !== "Identifier") return false;
  const decl = info.nodes.get(node.referencedDeclaration);
  return !!decl && (fn.parameters.parameters as Node[]).some((p) => p.id === decl.id);
}

/** Whether a statement reverts (a `revert` statement or call, or a failing `require`). */
function reverts(node: unknown): boolean {
  let found = false;
  walk(node, (n) => {
    if (n.nodeType === "RevertStatement") found = true;
    if (n.nodeType === "FunctionCall" && n.expression?.name === "revert") found = true;
  });
  return found;
}

/** The caller check guarding `fn`: a modifier that reads the caller, or an early `if (caller …) revert`. */
function gateOf(info: BuildInfo, fn: Node): string | undefined {
  for (const invocation of fn.modifiers as Node[]) {
    const modifier = info.nodes.get(invocation.modifierName.referencedDeclaration);
    if (modifier && bodyReadsCaller(info, modifier, new Set())) return invocation.modifierName.name;
  }
  for (const statement of (fn.body?.statements ?? []) as Node[]) {
    if (statement.nodeType === "IfStatement" && reverts(statement.trueBody)) {
      const condition = statement.condition as Node;
      if (!readsCaller(info, condition)) continue;
      // `if (callerConfirmation != _msgSender())`: checks an argument, not who may call.
      const sides =
        condition.nodeType === "BinaryOperation"
          ? [condition.leftExpression, condition.rightExpression]
          : [];
      if (sides.some((side: Node) => isParameterOf(info, side, fn))) continue;
      return info.text(condition);
    }
    if (
      statement.nodeType === "ExpressionStatement" &&
      statement.expression?.expression?.name === "require"
    ) {
      const [condition] = statement.expression.arguments as Node[];
      if (readsCaller(info, condition)) return info.text(condition);
    }
  }
  return undefined;
}

/** Whether a modifier's or function's body reads the caller, following internal calls. */
function bodyReadsCaller(info: BuildInfo, fn: Node, seen: Set<number>): boolean {
  if (seen.has(fn.id)) return false;
  seen.add(fn.id);
  if (readsCaller(info, fn.body)) return true;
  let found = false;
  walk(fn.body, (n) => {
    if (found || n.nodeType !== "FunctionCall" || n.expression?.nodeType !== "Identifier") return;
    const callee = info.nodes.get(n.expression.referencedDeclaration);
    if (callee?.nodeType === "FunctionDefinition" && bodyReadsCaller(info, callee, seen))
      found = true;
  });
  return found;
}

/** Everything `f` can reach that moves tokens or calls out arbitrarily. */
export function reachableSinks(f: ExternalFunction, all: readonly ExternalFunction[]): Set<string> {
  const sinks = new Set<string>();
  const bySelector = new Map<string, ExternalFunction[]>();
  for (const g of all) bySelector.set(g.selector, [...(bySelector.get(g.selector) ?? []), g]);
  const seen = new Set<string>();
  const visit = (info: BuildInfo, fn: Node, where: string) => {
    const key = `${where}#${fn.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    const bodies: unknown[] = [fn.body];
    for (const invocation of (fn.modifiers ?? []) as Node[]) {
      const modifier = info.nodes.get(invocation.modifierName?.referencedDeclaration);
      if (modifier) bodies.push(modifier.body);
    }
    walk(bodies, (n) => {
      if (
        n.nodeType === "YulFunctionCall" &&
        ["call", "callcode", "delegatecall"].includes(n.functionName?.name)
      ) {
        sinks.add(`assembly ${n.functionName.name} in ${where}`);
        return;
      }
      if (n.nodeType !== "FunctionCall") return;
      const callee = n.expression as Node;
      const target =
        callee.nodeType === "Identifier" || callee.nodeType === "MemberAccess"
          ? info.nodes.get(callee.referencedDeclaration)
          : callee.nodeType === "FunctionCallOptions"
            ? info.nodes.get(callee.expression?.referencedDeclaration)
            : undefined;
      const member = callee.nodeType === "FunctionCallOptions" ? callee.expression : callee;
      if (!target) {
        if (
          member?.nodeType === "MemberAccess" &&
          ["call", "delegatecall", "send", "transfer"].includes(member.memberName)
        ) {
          const type = String(member.expression?.typeDescriptions?.typeString ?? "");
          if (type.startsWith("address")) sinks.add(`low-level ${member.memberName} in ${where}`);
        }
        return;
      }
      if (target.nodeType !== "FunctionDefinition") return;
      const scope = info.contractOf(target);
      if (TOKEN_MOVES.has(target.name) && scope && TOKEN_SCOPES.has(scope.name)) {
        sinks.add(`token ${target.name} in ${where}`);
        return;
      }
      if (
        !scope ||
        scope.contractKind === "library" ||
        callee.nodeType === "Identifier" ||
        member?.expression?.name === "super"
      ) {
        visit(
          info,
          target,
          scope && scope.contractKind === "library" ? `${scope.name}.${target.name}` : where,
        );
        return;
      }
      // An external call: follow it into every deployed function with that selector.
      for (const g of bySelector.get(target.functionSelector) ?? [])
        visit(g.info, g.def, `${g.contract}.${g.name}`);
    });
  };
  visit(f.info, f.def, `${f.contract}.${f.name}`);
  return sinks;
}

function walk(node: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit);
    return;
  }
  if (!node || typeof node !== "object") return;
  const n = node as Node;
  if (typeof n.nodeType === "string") visit(n);
  for (const [key, value] of Object.entries(n)) {
    if (key === "typeDescriptions") continue;
    if (value && typeof value === "object") walk(value, visit);
  }
}
