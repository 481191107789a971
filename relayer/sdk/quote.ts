import { IOutboxAbi } from "./abis.js";
import { onChain, type DistposClient } from "./client.js";
import { InvalidArgumentError } from "./errors.js";
import { formatTokens, MESSAGE_DECIMALS } from "./units.js";

export interface QuoteParameters {
  /** Origin chain code (where the fee is paid). */
  from: bigint | string;
  /** Destination chain code. */
  to: bigint | string;
  /** Bytes of the body the message carries (default 0). */
  bodySize?: number;
  /** Gas the recipient's handler is quoted for (default 0). */
  handlerGas?: bigint;
  /** Value the message carries, 18 decimals (the premium's base; default 0). */
  amount?: bigint;
}

export interface Quote {
  /** The fee, 18 decimals, and written in tokens. */
  fee: bigint;
  feeText: string;
  /** The destination's delivery price as the origin's Outbox last took it (docs/protocol.md 3.9). */
  price: { perGas: bigint; base: bigint; premiumPpm: number };
}

/**
 * The delivery fee a message from `from` to `to` pays at the destination's latest published price
 * (`Outbox.quote`); 0 before any price arrived (such messages are self-relayed or delivered by
 * relayers that take fee-less messages).
 */
export async function quote(client: DistposClient, params: QuoteParameters): Promise<Quote> {
  const origin = client.chain(params.from);
  const destination = client.chain(params.to);
  const bodySize = params.bodySize ?? 0;
  if (!Number.isSafeInteger(bodySize) || bodySize < 0)
    throw new InvalidArgumentError("bodySize", "must be a whole number of bytes, at least 0");
  const handlerGas = params.handlerGas ?? 0n;
  if (handlerGas < 0n) throw new InvalidArgumentError("handlerGas", "must be at least 0");
  const amount = params.amount ?? 0n;
  if (amount < 0n) throw new InvalidArgumentError("amount", "must be at least 0");
  const pc = client.publicClient(origin);
  const [fee, price] = await Promise.all([
    onChain(origin, "Outbox.quote", () =>
      pc.readContract({
        address: origin.contracts.outbox,
        abi: IOutboxAbi,
        functionName: "quote",
        args: [destination.code, BigInt(bodySize), handlerGas, amount],
      }),
    ),
    onChain(origin, "Outbox.price", () =>
      pc.readContract({
        address: origin.contracts.outbox,
        abi: IOutboxAbi,
        functionName: "price",
        args: [destination.code],
      }),
    ),
  ]);
  return {
    fee,
    feeText: formatTokens(fee, MESSAGE_DECIMALS),
    price: { perGas: price.perGas, base: price.base, premiumPpm: price.premiumPpm },
  };
}
