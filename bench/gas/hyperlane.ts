/**
 * Hyperlane's contracts, deployed from the compiled artifacts that `@hyperlane-xyz/core` 12.1.0
 * publishes (abi + bytecode, never recompiled), as a production deployment wires them: the Mailbox
 * behind a TransparentUpgradeableProxy, a MerkleTreeHook as required hook, static MessageId and
 * MerkleRoot multisig ISMs made by their factories (MetaProxy clones), and the published no-op
 * `LightTestRecipient`. Validators sign checkpoints as Hyperlane's `CheckpointLib` defines them.
 */
import {
  InterchainGasPaymaster__factory,
  LightTestRecipient__factory,
  StorageGasOracle__factory,
  Mailbox__factory,
  MerkleTreeHook__factory,
  PausableHook__factory,
  ProxyAdmin__factory,
  StaticMerkleRootMultisigIsmFactory__factory,
  StaticMessageIdMultisigIsmFactory__factory,
  TransparentUpgradeableProxy__factory,
} from "@hyperlane-xyz/core";
import {
  Contract,
  ContractFactory,
  ethers,
  type InterfaceAbi,
  type Signer,
  type TransactionReceipt,
  type Wallet,
} from "ethers";

import type { MerkleTree } from "../../relayer/protocol/index.js";
import { body, sendMany } from "./tx.js";

/** A published artifact: what the typechain factories of `@hyperlane-xyz/core` carry. */
interface Artifact {
  abi: unknown;
  bytecode: string;
}

async function deployArtifact(
  artifact: Artifact,
  signer: Signer,
  args: unknown[] = [],
): Promise<Contract> {
  const factory = new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode, signer);
  const contract = await factory.deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

function attach(artifact: Artifact, address: string, signer: Signer): Contract {
  return new Contract(address, artifact.abi as InterfaceAbi, signer);
}

/** One chain's Hyperlane deployment. */
export interface HyperlaneChain {
  domain: number;
  mailbox: Contract; // the proxy, with the Mailbox ABI
  mailboxImplementation: string;
  merkleTreeHook: Contract;
  defaultHook: string;
  messageIdIsm: string;
  merkleRootIsm: string;
  /** No-op recipients whose ISM is the MessageId / MerkleRoot multisig ISM. */
  messageIdRecipient: string;
  merkleRootRecipient: string;
  /** Validators of both ISMs, in the ISMs' order (ascending addresses). */
  validators: Wallet[];
  threshold: number;
  /** Names of the deployed addresses (for gas breakdowns). */
  names: Map<string, string>;
}

/**
 * Deploys Hyperlane on the chain of `signer` for `domain`. The default hook is Hyperlane's own
 * `PausableHook` (unpaused: the cheapest published hook; production uses an IGP or an aggregation
 * here, which only costs more), the required hook the MerkleTreeHook, the default ISM the MessageId
 * multisig ISM.
 */
export async function deployHyperlane(
  signer: Signer,
  domain: number,
  validators: Wallet[],
  threshold: number,
): Promise<HyperlaneChain> {
  const owner = await signer.getAddress();
  const sorted = [...validators].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  const validatorAddresses = sorted.map((v) => v.address);

  const proxyAdmin = await deployArtifact(ProxyAdmin__factory, signer);
  const implementation = await deployArtifact(Mailbox__factory, signer, [domain]);
  const pausableHook = await deployArtifact(PausableHook__factory, signer);

  const messageIdFactory = await deployArtifact(StaticMessageIdMultisigIsmFactory__factory, signer);
  const merkleRootFactory = await deployArtifact(
    StaticMerkleRootMultisigIsmFactory__factory,
    signer,
  );
  const messageIdIsm = await deployIsm(messageIdFactory, validatorAddresses, threshold);
  const merkleRootIsm = await deployIsm(merkleRootFactory, validatorAddresses, threshold);

  // Initialised with the pausable hook as a placeholder required hook: the MerkleTreeHook needs
  // the Mailbox's address first (Hyperlane's deployer does the same, then sets the hook).
  const mailboxInterface = new ethers.Interface(Mailbox__factory.abi as InterfaceAbi);
  const initData = mailboxInterface.encodeFunctionData("initialize", [
    owner,
    messageIdIsm,
    await pausableHook.getAddress(),
    await pausableHook.getAddress(),
  ]);
  const proxy = await deployArtifact(TransparentUpgradeableProxy__factory, signer, [
    await implementation.getAddress(),
    await proxyAdmin.getAddress(),
    initData,
  ]);
  const mailbox = attach(Mailbox__factory, await proxy.getAddress(), signer);
  const merkleTreeHook = await deployArtifact(MerkleTreeHook__factory, signer, [
    await mailbox.getAddress(),
  ]);
  await (await mailbox.getFunction("setRequiredHook")(await merkleTreeHook.getAddress())).wait();

  const messageIdRecipient = await deployRecipient(signer, messageIdIsm);
  const merkleRootRecipient = await deployRecipient(signer, merkleRootIsm);

  const names = new Map<string, string>([
    [(await mailbox.getAddress()).toLowerCase(), "Hyperlane Mailbox proxy"],
    [(await implementation.getAddress()).toLowerCase(), "Hyperlane Mailbox"],
    [(await merkleTreeHook.getAddress()).toLowerCase(), "Hyperlane MerkleTreeHook"],
    [(await pausableHook.getAddress()).toLowerCase(), "Hyperlane default hook (PausableHook)"],
    [messageIdIsm.toLowerCase(), "Hyperlane MessageId ISM (MetaProxy)"],
    [merkleRootIsm.toLowerCase(), "Hyperlane MerkleRoot ISM (MetaProxy)"],
    [
      (await messageIdFactory.getFunction("implementation")()).toLowerCase(),
      "Hyperlane MessageId ISM implementation",
    ],
    [
      (await merkleRootFactory.getFunction("implementation")()).toLowerCase(),
      "Hyperlane MerkleRoot ISM implementation",
    ],
    [messageIdRecipient.toLowerCase(), "Hyperlane LightTestRecipient"],
    [merkleRootRecipient.toLowerCase(), "Hyperlane LightTestRecipient"],
  ]);
  return {
    domain,
    mailbox,
    mailboxImplementation: await implementation.getAddress(),
    merkleTreeHook,
    defaultHook: await pausableHook.getAddress(),
    messageIdIsm,
    merkleRootIsm,
    messageIdRecipient,
    merkleRootRecipient,
    validators: sorted,
    threshold,
    names,
  };
}

async function deployIsm(factory: Contract, validators: string[], threshold: number) {
  const deploy = factory.getFunction("deploy(address[],uint8)");
  const address = (await deploy.staticCall(validators, threshold)) as string;
  await (await deploy(validators, threshold)).wait();
  return address;
}

async function deployRecipient(signer: Signer, ism: string): Promise<string> {
  const recipient = await deployArtifact(LightTestRecipient__factory, signer);
  await (await recipient.getFunction("setInterchainSecurityModule")(ism)).wait();
  return recipient.getAddress();
}

/** A message dispatched by a Hyperlane Mailbox. */
export interface HyperlaneMessage {
  id: string;
  nonce: number;
  message: string;
  receipt: TransactionReceipt;
}

/** Reads the dispatched message out of a `Mailbox.dispatch` receipt. */
export function dispatchedFrom(
  chain: HyperlaneChain,
  receipt: TransactionReceipt,
): HyperlaneMessage {
  for (const log of receipt.logs) {
    const parsed = chain.mailbox.interface.parseLog(log);
    if (parsed?.name !== "Dispatch") continue;
    const message = parsed.args.message as string;
    // Hyperlane message: version uint8 | nonce uint32 | origin uint32 | sender | destination | ...
    const nonce = Number(ethers.dataSlice(message, 1, 5));
    return { id: ethers.keccak256(message), nonce, message, receipt };
  }
  throw new Error(`no Dispatch event in ${receipt.hash}`);
}

/** Hyperlane's checkpoint digest (`CheckpointLib.digest`, before the EIP-191 prefix). */
function checkpointDigest(
  origin: number,
  merkleTreeHook: string,
  root: string,
  index: number,
  messageId: string,
): Uint8Array {
  const domainHash = ethers.solidityPackedKeccak256(
    ["uint32", "bytes32", "string"],
    [origin, ethers.zeroPadValue(merkleTreeHook, 32), "HYPERLANE"],
  );
  return ethers.getBytes(
    ethers.solidityPackedKeccak256(
      ["bytes32", "bytes32", "uint32", "bytes32"],
      [domainHash, root, index, messageId],
    ),
  );
}

/** `threshold` validator signatures (EIP-191 over the digest), in the ISM's validator order. */
async function signatures(
  origin: HyperlaneChain,
  root: string,
  index: number,
  messageId: string,
): Promise<string> {
  const digest = checkpointDigest(
    origin.domain,
    await origin.merkleTreeHook.getAddress(),
    root,
    index,
    messageId,
  );
  const signed: string[] = [];
  for (const validator of origin.validators.slice(0, origin.threshold)) {
    signed.push(await validator.signMessage(digest));
  }
  return ethers.concat(signed);
}

/**
 * Metadata of the MessageId multisig ISM: the validators signed the checkpoint whose latest leaf
 * is the message itself (index = its nonce, root of the tree of nonce + 1 leaves).
 * `originMerkleTreeHook ‖ root ‖ uint32 index ‖ signatures`.
 */
export async function messageIdMetadata(
  origin: HyperlaneChain,
  tree: MerkleTree,
  message: HyperlaneMessage,
): Promise<string> {
  const root = tree.rootAt(message.nonce + 1);
  return ethers.concat([
    ethers.zeroPadValue(await origin.merkleTreeHook.getAddress(), 32),
    root,
    ethers.toBeHex(message.nonce, 4),
    await signatures(origin, root, message.nonce, message.id),
  ]);
}

/**
 * Metadata of the MerkleRoot multisig ISM against the latest checkpoint of `tree` (the one every
 * message below it is proven against): `originMerkleTreeHook ‖ uint32 messageIndex ‖
 * signedMessageId ‖ proof[32] ‖ uint32 signedIndex ‖ signatures`.
 */
export async function merkleRootMetadata(
  origin: HyperlaneChain,
  tree: MerkleTree,
  message: HyperlaneMessage,
): Promise<string> {
  const count = tree.count;
  const signedIndex = count - 1;
  const signedMessageId = tree.leaf(signedIndex);
  const root = tree.rootAt(count);
  return ethers.concat([
    ethers.zeroPadValue(await origin.merkleTreeHook.getAddress(), 32),
    ethers.toBeHex(message.nonce, 4),
    signedMessageId,
    ...tree.proof(message.nonce, count),
    ethers.toBeHex(signedIndex, 4),
    await signatures(origin, root, signedIndex, signedMessageId),
  ]);
}

/** Dispatches `count` messages of `bodySize` bytes from `origin` to `recipient` on `destination`. */
export async function dispatchHyperlane(
  origin: HyperlaneChain,
  signer: Signer,
  destination: number,
  recipient: string,
  count: number,
  bodySize: number,
  seed: number,
): Promise<HyperlaneMessage[]> {
  const mailbox = origin.mailbox.connect(signer) as Contract;
  const dispatch = mailbox.getFunction("dispatch(uint32,bytes32,bytes)");
  const recipientWord = ethers.zeroPadValue(recipient, 32);
  const receipts = await sendMany(signer, count, (i, overrides) =>
    dispatch(destination, recipientWord, body(bodySize, seed + i), overrides),
  );
  return receipts.map((receipt) => dispatchedFrom(origin, receipt));
}

/**
 * Puts Hyperlane's InterchainGasPaymaster (behind a TransparentUpgradeableProxy, as deployed) with a
 * StorageGasOracle for `destination` in the hook path of `chain`'s Mailbox, after the MerkleTreeHook
 * (required): every dispatch then pays for its gas, as in production, where the IGP sits in the
 * default (aggregation) hook. Here it is the default hook itself, without the aggregation hook's own
 * overhead, so Hyperlane's figure is if anything low. Returns the dispatch's `msg.value` quote.
 */
export async function addGasPaymaster(
  chain: HyperlaneChain,
  signer: Signer,
  destination: number,
  recipient: string,
  bodySize: number,
): Promise<bigint> {
  const owner = await signer.getAddress();
  const oracle = await deployArtifact(StorageGasOracle__factory, signer);
  await (
    await oracle.getFunction("setRemoteGasData")({
      remoteDomain: destination,
      tokenExchangeRate: 10n ** 10n, // 1:1 (TOKEN_EXCHANGE_RATE_SCALE)
      gasPrice: 1_000_000_000n,
    })
  ).wait();
  const implementation = await deployArtifact(InterchainGasPaymaster__factory, signer);
  const proxyAdmin = await deployArtifact(ProxyAdmin__factory, signer);
  const igpInterface = new ethers.Interface(InterchainGasPaymaster__factory.abi as InterfaceAbi);
  const proxy = await deployArtifact(TransparentUpgradeableProxy__factory, signer, [
    await implementation.getAddress(),
    await proxyAdmin.getAddress(),
    igpInterface.encodeFunctionData("initialize", [owner, owner]),
  ]);
  const igp = attach(InterchainGasPaymaster__factory, await proxy.getAddress(), signer);
  await (
    await igp.getFunction("setDestinationGasConfigs")([
      {
        remoteDomain: destination,
        config: { gasOracle: await oracle.getAddress(), gasOverhead: 0n },
      },
    ])
  ).wait();
  await (await chain.mailbox.getFunction("setDefaultHook")(await igp.getAddress())).wait();
  chain.names.set((await igp.getAddress()).toLowerCase(), "Hyperlane IGP proxy");
  chain.names.set((await implementation.getAddress()).toLowerCase(), "Hyperlane IGP");
  chain.names.set((await oracle.getAddress()).toLowerCase(), "Hyperlane StorageGasOracle");
  const quote = chain.mailbox.getFunction("quoteDispatch(uint32,bytes32,bytes)");
  return (await quote(
    destination,
    ethers.zeroPadValue(recipient, 32),
    body(bodySize, 0),
  )) as bigint;
}

/** `dispatchHyperlane` paying `value` to the hooks (the IGP's quote) with each dispatch. */
export async function dispatchHyperlanePaid(
  origin: HyperlaneChain,
  signer: Signer,
  destination: number,
  recipient: string,
  count: number,
  bodySize: number,
  seed: number,
  value: bigint,
): Promise<HyperlaneMessage[]> {
  const mailbox = origin.mailbox.connect(signer) as Contract;
  const dispatch = mailbox.getFunction("dispatch(uint32,bytes32,bytes)");
  const recipientWord = ethers.zeroPadValue(recipient, 32);
  const receipts = await sendMany(signer, count, (i, overrides) =>
    dispatch(destination, recipientWord, body(bodySize, seed + i), { ...overrides, value }),
  );
  return receipts.map((receipt) => dispatchedFrom(origin, receipt));
}
