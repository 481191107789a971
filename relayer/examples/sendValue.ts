/**
 * Sending value from TypeScript: what a dApp backend or wallet does to pay a chain-qualified
 * address through the sender chain's CorrespondentBank, with viem and the DistPOS codec.
 * (Shown in the README; tested by test/examples/sendValue.test.ts.)
 */
// readme:send-value:start
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEventLogs,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ICorrespondentBankAbi, IOutboxAbi, erc20Abi } from "../chain/abis.js";
import { addressToBytes32, parseChainAddress } from "../protocol/index.js";

/** Pays `amount` (18 decimals) to `to`, e.g. "b0b1x63ea…", from the chain at `rpcUrl`. */
export async function sendValue(params: {
  rpcUrl: string;
  bank: Address; // the sender chain's CorrespondentBank
  token: Address; // its settlement token
  privateKey: Hex;
  to: string;
  amount: bigint;
  body?: Hex; // optional payload for the recipient contract's handle()
}): Promise<{ id: Hex; nonce: number }> {
  const recipient = parseChainAddress(params.to); // throws ChainAddressError naming the fault
  if (recipient.code === 0n) throw new Error(`${params.to} is local: prefix its chain code`);

  const publicClient = createPublicClient({ transport: http(params.rpcUrl) });
  const chain = defineChain({
    id: await publicClient.getChainId(),
    name: "origin",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [params.rpcUrl] } },
  });
  const wallet = createWalletClient({
    account: privateKeyToAccount(params.privateKey),
    chain,
    transport: http(params.rpcUrl),
  });

  // The bank takes the tokens in its own units; message amounts always have 18 decimals.
  const decimals = await publicClient.readContract({
    address: params.token,
    abi: erc20Abi,
    functionName: "decimals",
  });
  const approve = await wallet.writeContract({
    address: params.token,
    abi: erc20Abi,
    functionName: "approve",
    args: [params.bank, params.amount / 10n ** BigInt(18 - decimals)],
  });
  await publicClient.waitForTransactionReceipt({ hash: approve });

  const hash = await wallet.writeContract({
    address: params.bank,
    abi: ICorrespondentBankAbi,
    functionName: "send",
    args: [recipient.code, addressToBytes32(recipient.account), params.amount, params.body ?? "0x"],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`send reverted in ${hash}`);
  const [dispatch] = parseEventLogs({ abi: IOutboxAbi, eventName: "Dispatch", logs: receipt.logs });
  return { id: dispatch.args.id, nonce: dispatch.args.nonce };
}
// readme:send-value:end
