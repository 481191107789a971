/**
 * Sending value from TypeScript: what a dApp backend or wallet does to pay a chain-qualified
 * address, with the DistPOS SDK exactly as an application imports it (the package's own name).
 * (Shown in the README; tested by test/examples/sendValue.test.ts.)
 */
// readme:send-value:start
import {
  createDistposClient,
  parseTokens,
  sendValue,
  waitForDelivery,
  type DistposChain,
  type Hex,
  type MessageInfo,
} from "distpos";

/** Pays `tokens` (e.g. "12.5") to `to` (e.g. "b0b1x63ea…") from chain `from`, and waits for it. */
export async function pay(params: {
  chains: DistposChain[]; // the routing table: code, chainId, rpc, contracts of each chain
  from: string; // the sender's chain code, e.g. "a0a1"
  privateKey: Hex;
  to: string;
  tokens: string;
  onStage?: (stage: string) => void;
}): Promise<MessageInfo> {
  const client = createDistposClient({ chains: params.chains });
  // Checks the route, the credit and the balance and simulates before any transaction; approves
  // the bank for exactly the amount when needed. Errors are typed: InsufficientCreditError,
  // InsufficientBalanceError, RpcError (chain and URL), ContractRevertError (decoded) …
  const sent = await sendValue(client, {
    from: params.from,
    to: params.to,
    amount: parseTokens(params.tokens, 18), // message amounts have 18 decimals
    account: params.privateKey,
  });
  // dispatched → snapshotted → delivered (or failed: see `retry` and `claim`)
  return waitForDelivery(client, {
    id: sent.id,
    timeoutMs: 300_000,
    onProgress: ({ stage }) => params.onStage?.(stage),
  });
}
// readme:send-value:end
