/**
 * Maps a program counter of one of our deployed contracts to the Solidity function its code came
 * from, with the compiler's source map and AST from Hardhat's build info — so that a trace's gas
 * can be charged to functions (internal and library functions included, since they are inlined or
 * jumped to inside the contract's code).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

interface AstNode {
  nodeType: string;
  name?: string;
  kind?: string;
  src: string;
  nodes?: AstNode[];
  body?: AstNode;
}

interface FunctionRange {
  start: number;
  end: number;
  name: string;
}

/** `pc → "Contract.function"`; compiler-generated code (ABI coding, checks) has its own label. */
export type SourceMapper = (pc: number) => string;

/** The deployed code differs from the compiled artifact (recompiled while the benchmark ran). */
export class StaleArtifactError extends Error {
  override readonly name = "StaleArtifactError";
}

const COMPILER_GENERATED = "(compiler-generated: ABI decoding, dispatch, checks)";

/**
 * Loads the mapper of `contractName` from `sourceFile` (e.g. contracts/messaging/Inbox.sol) and
 * checks it against `deployedCode` (immutables masked): other helpers may rebuild the artifacts
 * while a benchmark runs, and a map of other code would charge gas to the wrong functions.
 * @throws StaleArtifactError when the artifact no longer describes the deployed code
 */
export async function loadSourceMapper(
  root: string,
  sourceFile: string,
  contractName: string,
  deployedCode: string,
): Promise<SourceMapper> {
  const artifactPath = join(root, "artifacts", sourceFile, `${contractName}.json`);
  const artifact = JSON.parse(await readFile(artifactPath, "utf8")) as {
    buildInfoId: string;
    inputSourceName: string;
  };
  const buildInfo = JSON.parse(
    await readFile(
      join(root, "artifacts", "build-info", `${artifact.buildInfoId}.output.json`),
      "utf8",
    ),
  ) as {
    output: {
      contracts: Record<
        string,
        Record<string, { evm: { deployedBytecode: { object: string; sourceMap: string } } }>
      >;
      sources: Record<string, { id: number; ast: AstNode }>;
    };
  };
  const { object, sourceMap } =
    buildInfo.output.contracts[artifact.inputSourceName][contractName].evm.deployedBytecode;
  const immutables = (
    buildInfo.output.contracts[artifact.inputSourceName][contractName].evm.deployedBytecode as {
      immutableReferences?: Record<string, { start: number; length: number }[]>;
    }
  ).immutableReferences;
  const compiled = Buffer.from(object.replace(/^0x/, ""), "hex");
  const deployed = Buffer.from(deployedCode.replace(/^0x/, ""), "hex");
  for (const ranges of Object.values(immutables ?? {})) {
    for (const { start, length } of ranges) deployed.fill(0, start, start + length);
  }
  if (!compiled.equals(deployed)) {
    throw new StaleArtifactError(
      `${contractName}: the artifact no longer matches the deployed code`,
    );
  }

  // Function ranges per source file id.
  const ranges = new Map<number, FunctionRange[]>();
  for (const source of Object.values(buildInfo.output.sources)) {
    const list: FunctionRange[] = [];
    const walk = (node: AstNode, owner: string) => {
      if (node.nodeType === "ContractDefinition") owner = node.name ?? owner;
      if (node.nodeType === "FunctionDefinition" || node.nodeType === "ModifierDefinition") {
        const [start, length] = node.src.split(":").map(Number);
        const name =
          node.kind === "constructor" ? "constructor" : node.name || node.kind || "(function)";
        list.push({ start, end: start + length, name: `${owner}.${name}` });
      }
      for (const child of node.nodes ?? []) walk(child, owner);
    };
    walk(source.ast, "");
    ranges.set(source.id, list);
  }

  // Instruction index of every pc (PUSH data is not an instruction).
  const code = Buffer.from(object.replace(/^0x/, ""), "hex");
  const instructionAt = new Map<number, number>();
  for (let pc = 0, index = 0; pc < code.length; index++) {
    instructionAt.set(pc, index);
    const op = code[pc];
    pc += op >= 0x60 && op <= 0x7f ? op - 0x5f + 1 : 1;
  }

  // Decompressed source map: [start, length, file] per instruction.
  const entries: [number, number, number][] = [];
  let previous: [number, number, number] = [0, 0, -1];
  for (const item of sourceMap.split(";")) {
    const [s, l, f] = item.split(":");
    const entry: [number, number, number] = [
      s ? Number(s) : previous[0],
      l ? Number(l) : previous[1],
      f ? Number(f) : previous[2],
    ];
    entries.push(entry);
    previous = entry;
  }

  const cache = new Map<number, string>();
  return (pc: number) => {
    const cached = cache.get(pc);
    if (cached) return cached;
    let label = COMPILER_GENERATED;
    const index = instructionAt.get(pc);
    const entry = index === undefined ? undefined : entries[index];
    if (entry && entry[2] >= 0) {
      const [start, length, file] = entry;
      let best: FunctionRange | undefined;
      for (const range of ranges.get(file) ?? []) {
        if (range.start <= start && start + length <= range.end) {
          if (!best || range.end - range.start < best.end - best.start) best = range;
        }
      }
      if (best) label = best.name;
    }
    cache.set(pc, label);
    return label;
  };
}
