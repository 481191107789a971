/**
 * What the watcher's record costs: the `CheckpointAccepted(origin, root, count, last, signatures)` log
 * that every accepted batch emits (docs/protocol.md 3.5), measured as the difference between the
 * same delivery with and without it.
 *
 * Inside the bench run only (nothing of this is deployed anywhere else): `contracts/messaging/
 * Inbox.sol` is compiled twice with the project's compiler and settings (the npm `solc` wasm
 * 0.8.30, optimizer 10,000 runs, cancun) — once as it is (the control) and once with its one call
 * `_emitCheckpointAccepted(checkpoint, signatures);` removed (the variant). Both are deployed on B
 * with B's Inbox's constructor arguments, so their immutables are B's. For one prepared delivery,
 * on the same state (`evm_snapshot` / `evm_revert` around each): the real Inbox, then the variant's
 * runtime code put at the Inbox's address (`hardhat_setCode`), then the control's. The record costs
 * `real − variant`; `control − real` must be 0 (it shows that compiling outside Hardhat changed no
 * gas). The cost is split into the LOG3 step by its formula (375 + 3 topics × 375 + 8 × data
 * bytes) and the rest: writing the log data in memory (the signatures' copy, memory growth).
 */
import { sendDelivery, type Delivery } from "../../test/helpers/suite.js";
import { inboxVariants, replaceOnce, withInboxCode } from "../../test/helpers/inboxVariant.js";
import type { BenchNetwork } from "./distpos.js";

const CALL = "        _emitCheckpointAccepted(checkpoint, signatures);\n";

export interface RecordCost {
  batch: number;
  signers: number;
  /** gasUsed of the delivery as deployed (with the record). */
  withRecord: number;
  /** gasUsed of the same delivery on the same state by the variant without the record. */
  withoutRecord: number;
  /** gasUsed by the unmodified source compiled the same way as the variant (must equal withRecord). */
  control: number;
  /** withRecord − withoutRecord. */
  cost: number;
  /** Bytes of the log's data (ABI: count, offset, length, the packed signatures padded to 32). */
  logDataBytes: number;
  /** The LOG3 step: 375 + 3 × 375 + 8 × logDataBytes. */
  logStep: number;
  /** cost − logStep: writing the log data in memory (the signatures' copy, memory growth). */
  packing: number;
}

export interface RecordVariant {
  variantCode: string;
  controlCode: string;
  compileSeconds: number;
}

/** Compiles the control and the variant and deploys both on B; returns their runtime code. */
export async function buildRecordVariant(net: BenchNetwork): Promise<RecordVariant> {
  const { code, compileSeconds } = await inboxVariants(net.b, {
    control: (source) => source,
    variant: (source) => replaceOnce(source, CALL, ""),
  });
  return { controlCode: code.control, variantCode: code.variant, compileSeconds };
}

/**
 * Sends `delivery` three times on the same state of B — as deployed, by the variant, by the
 * control — and leaves B as it was (the delivery not made, the Inbox's code restored).
 */
export async function measureRecordCost(
  net: BenchNetwork,
  variant: RecordVariant,
  delivery: Delivery,
): Promise<RecordCost> {
  const address = net.b.suite.addresses.inbox;
  const original = await net.b.connection.ethers.provider.getCode(address);
  const inbox = net.b.suite.inbox;
  const topic = inbox.interface.getEvent("CheckpointAccepted")!.topicHash;

  const once = (code: string | undefined) =>
    withInboxCode(net.b, code, async () => {
      const receipt = await sendDelivery(net.b, delivery);
      if (receipt.status !== 1) throw new Error(`delivery ${receipt.hash} failed`);
      const logs = receipt.logs.filter((l) => l.address === address && l.topics[0] === topic);
      return { gas: Number(receipt.gasUsed), logs };
    });
  const real = await once(undefined);
  const without = await once(variant.variantCode);
  const control = await once(variant.controlCode);
  if ((await net.b.connection.ethers.provider.getCode(address)) !== original)
    throw new Error("the Inbox's code was not restored");
  if (real.logs.length !== 1 || without.logs.length !== 0 || control.logs.length !== 1)
    throw new Error("CheckpointAccepted logs: expected 1 (real), 0 (variant), 1 (control)");
  if (control.gas !== real.gas)
    throw new Error(`control ${control.gas} differs from the deployed Inbox ${real.gas}`);
  const logDataBytes = (real.logs[0].data.length - 2) / 2;
  const logStep = 375 + 3 * 375 + 8 * logDataBytes;
  const cost = real.gas - without.gas;
  return {
    batch: delivery.messages.length,
    signers: delivery.signatures.length,
    withRecord: real.gas,
    withoutRecord: without.gas,
    control: control.gas,
    cost,
    logDataBytes,
    logStep,
    packing: cost - logStep,
  };
}
