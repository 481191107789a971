import {
  decodeAbiParameters,
  hexToBigInt,
  hexToNumber,
  toEventSelector,
  type AbiEvent,
  type AbiParameter,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";

/** A log as the node uses it: where it is and its decoded arguments. */
export interface DecodedLog {
  eventName: string;
  args: Record<string, unknown>;
  address: Address;
  blockNumber: bigint;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: number;
}

/** A raw log, from eth_getLogs (hex quantities) or a viem receipt (bigint / number). */
interface RawLog {
  address: Address;
  topics: readonly Hex[];
  data: Hex;
  blockNumber: Hex | bigint | null;
  blockHash: Hex | null;
  transactionHash: Hex | null;
  logIndex: Hex | number | null;
}

interface Known {
  event: AbiEvent;
  indexed: AbiParameter[];
  data: AbiParameter[];
}

const isDynamic = (p: AbiParameter) =>
  p.type === "string" || p.type === "bytes" || p.type.endsWith("]") || p.type === "tuple";

/**
 * Decodes the logs of a fixed set of events. Selectors are computed once here: viem's
 * `decodeEventLog` / `parseEventLogs` hash the event signature again for every log, which at
 * thousands of logs per second was the node's largest single use of keccak.
 */
export class EventDecoder {
  private readonly known = new Map<string, Known>();
  /** Topic-0 values of the events, for an eth_getLogs filter. */
  readonly selectors: Hex[];

  constructor(events: readonly AbiEvent[]) {
    for (const event of events) {
      this.known.set(toEventSelector(event).toLowerCase(), {
        event,
        indexed: event.inputs.filter((i) => i.indexed),
        data: event.inputs.filter((i) => !i.indexed),
      });
    }
    this.selectors = [...this.known.keys()] as Hex[];
  }

  /** The decoded log, or undefined when it is none of the events or does not decode (strict). */
  decode(log: RawLog): DecodedLog | undefined {
    const known = log.topics[0] && this.known.get(log.topics[0].toLowerCase());
    if (!known || log.topics.length !== known.indexed.length + 1) return undefined;
    const args: Record<string, unknown> = {};
    try {
      known.indexed.forEach((param, i) => {
        const topic = log.topics[i + 1]!;
        // An indexed dynamic value is only its hash.
        args[param.name!] = isDynamic(param) ? topic : decodeAbiParameters([param], topic)[0];
      });
      if (known.data.length) {
        const values = decodeAbiParameters(known.data, log.data);
        known.data.forEach((param, i) => (args[param.name!] = values[i]));
      }
    } catch {
      return undefined;
    }
    return {
      eventName: known.event.name,
      args,
      address: log.address,
      blockNumber:
        typeof log.blockNumber === "bigint"
          ? log.blockNumber
          : hexToBigInt(log.blockNumber ?? "0x0"),
      blockHash: log.blockHash ?? "0x",
      transactionHash: log.transactionHash ?? "0x",
      logIndex:
        typeof log.logIndex === "number" ? log.logIndex : hexToNumber(log.logIndex ?? "0x0"),
    };
  }

  decodeAll(logs: readonly RawLog[]): DecodedLog[] {
    const out: DecodedLog[] = [];
    for (const log of logs) {
      const d = this.decode(log);
      if (d) out.push(d);
    }
    return out;
  }

  /**
   * eth_getLogs of these events from `addresses` over [from, to], decoded; `topics` narrows the
   * indexed arguments after topic 0 (as eth_getLogs takes them).
   */
  async getLogs(
    client: PublicClient,
    addresses: Address[],
    from: bigint,
    to: bigint,
    topics: (Hex | Hex[] | null)[] = [],
  ): Promise<DecodedLog[]> {
    const logs = (await client.request({
      method: "eth_getLogs",
      params: [
        {
          address: addresses,
          topics: [this.selectors, ...topics],
          fromBlock: `0x${from.toString(16)}`,
          toBlock: `0x${to.toString(16)}`,
        },
      ],
    })) as RawLog[];
    return this.decodeAll(logs);
  }
}
