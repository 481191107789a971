/**
 * The SDK's errors: every failure an action reports is a `DistposError`, and its class says what
 * kind of failure it is. Each message names what is at fault: the chain and the RPC URL, the
 * parameter, the contract error decoded with its arguments, amounts in token units.
 *
 *   DistposError
 *   ├── RpcError                  a chain's RPC endpoint did not answer (chain code and URL)
 *   ├── NodeApiError              a node's HTTP API did not answer or refused (URL)
 *   │   ├── NodeUnreachableError    no answer: refused connection, timeout, cut off
 *   │   ├── NodeHttpError           an HTTP error status (with the node's `error` text)
 *   │   ├── NodeAnswerTooLargeError an answer over the size limit (cancelled while streaming)
 *   │   └── NodeAnswerNotJsonError  an answer that is not JSON
 *   ├── ConfigError               a node config file is invalid (file and fields; relayer/config)
 *   ├── InvalidArgumentError      a parameter is malformed (its name)
 *   ├── UnknownChainError         a chain code is not in the client's routing table
 *   ├── RouteError                the route between two chains is not open
 *   ├── InsufficientBalanceError  the sender holds too few tokens (token units)
 *   ├── InsufficientCreditError   the route's credit is lower than the amount (token units)
 *   ├── ContractRevertError       a call or transaction reverted (decoded suite / ERC20 error)
 *   ├── NotFoundError             no chain of the table has the message or transaction
 *   ├── NotMintableError          `mint` on a settlement token that is not a devnet token
 *   ├── FeeCapError               the RPC asks more per gas than the client's cap (nothing signed)
 *   └── DeliveryTimeoutError      a wait ran out of time (the last stage reached)
 */

/** The root of every error the SDK throws. */
export class DistposError extends Error {
  override name = "DistposError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A chain's RPC endpoint failed (unreachable, timed out, refused the request). */
export class RpcError extends DistposError {
  override name = "RpcError";

  constructor(
    /** The chain's code as written in addresses (`a0a1`). */
    readonly chain: string,
    /** The chain's name in the routing table. */
    readonly chainName: string,
    /** The endpoint that failed (every endpoint of the chain, comma-separated, when unknown). */
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`chain ${chain} (${chainName}): RPC ${url} failed: ${reason}`, options);
  }
}

/** A node's HTTP API failed or answered with an error. */
export class NodeApiError extends DistposError {
  override name = "NodeApiError";

  constructor(
    readonly url: string,
    readonly reason: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`node ${url}: ${reason}`, options);
  }
}

/** The node did not answer: connection refused, DNS, the time limit, the answer cut off. */
export class NodeUnreachableError extends NodeApiError {
  override name = "NodeUnreachableError";
}

/**
 * The node answered an HTTP error status. `serverError` is the `error` text of its answer (what is
 * wrong with the request), `refusal` the machine-readable `reason` a bundle refusal carries.
 */
export class NodeHttpError extends NodeApiError {
  override name = "NodeHttpError";

  constructor(
    url: string,
    override readonly status: number,
    readonly serverError?: string,
    readonly refusal?: string,
  ) {
    super(url, `HTTP ${status}${serverError ? `: ${serverError}` : ""}`, status);
  }
}

/** The answer was larger than the caller's limit: it was cancelled as soon as that was known. */
export class NodeAnswerTooLargeError extends NodeApiError {
  override name = "NodeAnswerTooLargeError";

  constructor(
    url: string,
    readonly limit: number,
  ) {
    super(url, `answer exceeds ${limit} bytes`);
  }
}

/** The answer was not JSON (not a DistPOS node, or a proxy's error page). */
export class NodeAnswerNotJsonError extends NodeApiError {
  override name = "NodeAnswerNotJsonError";

  constructor(url: string, status: number, options?: { cause?: unknown }) {
    super(url, "the answer is not JSON (is this a DistPOS node's URL?)", status, options);
  }
}

/** A parameter is malformed: `field` names it as the caller wrote it (e.g. `body`, `--amount`). */
export class InvalidArgumentError extends DistposError {
  override name = "InvalidArgumentError";

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** A chain code that the client's routing table does not hold. */
export class UnknownChainError extends DistposError {
  override name = "UnknownChainError";

  constructor(
    readonly code: string,
    readonly known: readonly string[],
  ) {
    super(`chain ${code} is not in the routing table (known: ${known.join(", ") || "none"})`);
  }
}

/** The route from `origin` to `destination` cannot carry the message now. */
export class RouteError extends DistposError {
  override name = "RouteError";

  constructor(
    readonly origin: string,
    readonly destination: string,
    readonly reason: string,
  ) {
    super(`route ${origin} -> ${destination}: ${reason}`);
  }
}

/** The sender holds fewer tokens than the amount. Amounts in the token's units. */
export class InsufficientBalanceError extends DistposError {
  override name = "InsufficientBalanceError";

  constructor(
    readonly chain: string,
    readonly account: string,
    readonly token: string,
    readonly symbol: string,
    readonly decimals: number,
    /** What the account holds, in the token's smallest units. */
    readonly balance: bigint,
    /** What the transfer needs, in the token's smallest units. */
    readonly needed: bigint,
    /** The same amounts written in tokens (e.g. "12.5"). */
    readonly balanceText: string,
    readonly neededText: string,
  ) {
    super(
      `balance of ${account} on chain ${chain} is ${balanceText} ${symbol}, ${neededText} ${symbol} needed (token ${token})`,
    );
  }
}

/** The route's credit (what the sender community's reserve on the destination still covers). */
export class InsufficientCreditError extends DistposError {
  override name = "InsufficientCreditError";

  constructor(
    readonly origin: string,
    readonly destination: string,
    /** Credit and amount with 18 decimals, as message amounts are. */
    readonly credit: bigint,
    readonly amount: bigint,
    readonly creditText: string,
    readonly amountText: string,
    readonly symbol: string,
  ) {
    super(
      `credit of chain ${origin} at ${destination} is ${creditText} ${symbol}, ${amountText} ${symbol} needed (fund the reserve of ${origin} on ${destination}, or send less)`,
    );
  }
}

/** A call or transaction reverted; `errorName` and `args` are the decoded contract error. */
export class ContractRevertError extends DistposError {
  override name = "ContractRevertError";

  constructor(
    readonly chain: string,
    /** What was called, e.g. `CorrespondentBank.send`. */
    readonly call: string,
    /** The decoded error (`InsufficientCredit`, `ERC20InsufficientBalance`, `Error`, `Panic`) or `unknown(0x…)`. */
    readonly errorName: string,
    readonly args: readonly unknown[],
    /** The error written out with argument names and token units where known. */
    readonly detail: string,
    /** The raw revert data, when the endpoint returned it. */
    readonly data?: string,
    readonly transactionHash?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${call} on chain ${chain} reverted: ${detail}${transactionHash ? ` (tx ${transactionHash})` : ""}`,
      options,
    );
  }
}

/** No chain of the table has what was asked for (every chain answered). */
export class NotFoundError extends DistposError {
  override name = "NotFoundError";

  constructor(
    readonly what: string,
    readonly searched: readonly string[],
  ) {
    super(`${what} not found on any chain of the routing table (searched ${searched.join(", ")})`);
  }
}

/** A wait ran out of time; `stage` is the last stage the message reached. */
export class DeliveryTimeoutError extends DistposError {
  override name = "DeliveryTimeoutError";

  constructor(
    readonly id: string,
    readonly stage: string,
    readonly timeoutMs: number,
  ) {
    super(`message ${id} not delivered after ${timeoutMs / 1000}s (last stage: ${stage})`);
  }
}

/** `mint` asked of a settlement token that is not a devnet TestToken (chain and token named). */
export class NotMintableError extends DistposError {
  override name = "NotMintableError";

  constructor(
    /** The chain's code as written in addresses (`a0a1`). */
    readonly chain: string,
    readonly chainName: string,
    /** The settlement token's address and symbol. */
    readonly token: string,
    readonly symbol: string,
  ) {
    super(
      `chain ${chain} (${chainName}): settlement token ${symbol} at ${token} is not a devnet token (no DEVNET_MINTABLE): only the devnet's TestToken can be minted; get ${symbol} from its issuer`,
    );
  }
}

/**
 * The chain's RPC suggests a fee per gas above the client's `maxFeePerGas` cap: nothing was signed.
 * Refused rather than capped, since a transaction signed below what the chain asks may never be
 * mined (a broken or lying RPC, or a fee spike the user should decide about).
 */
export class FeeCapError extends DistposError {
  override name = "FeeCapError";

  constructor(
    /** The chain's code as written in addresses (`a0a1`). */
    readonly chain: string,
    readonly chainName: string,
    /** What was to be sent, e.g. `CorrespondentBank.send`. */
    readonly call: string,
    /** The RPC's suggested max fee per gas (or gas price), in wei. */
    readonly suggested: bigint,
    /** The cap, in wei. */
    readonly cap: bigint,
    /** The figures in gwei, for messages. */
    readonly suggestedText: string,
    readonly capText: string,
    /** What sets the cap, when the caller said (e.g. `chains.a0a1.maxFeePerGasGwei`). */
    readonly setting?: string,
  ) {
    super(
      `chain ${chain} (${chainName}): ${call} not sent: the RPC asks ${suggestedText} gwei per gas, above the cap of ${capText} gwei${setting ? ` (${setting})` : ""}; nothing was signed`,
    );
  }
}
