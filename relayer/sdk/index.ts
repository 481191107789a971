/**
 * The DistPOS SDK: `import { createDistposClient, sendValue } from "distpos"`. Actions take the
 * client first, as viem's do; every failure is a DistposError subclass (./errors.ts).
 */
export * from "./address.js";
export * from "./errors.js";
export { ConfigError, loadConfig, type LoadedConfig } from "../config/load.js";
export {
  createDistposClient,
  decodeRevert,
  type AccountLike,
  type CreateDistposClientParameters,
  type FeeCap,
  type DistposChain,
  type DistposClient,
} from "./client.js";
export {
  formatTokens,
  MESSAGE_DECIMALS,
  parseTokens,
  toMessageUnits,
  toTokenUnits,
} from "./units.js";
export { sendMessage, type SendMessageParameters } from "./sendMessage.js";
export { sendValue, type SendValueParameters, type SentValue } from "./sendValue.js";
export type { SentMessage } from "./dispatch.js";
export { quote, type Quote, type QuoteParameters } from "./quote.js";
export { topUp, type ToppedUp, type TopUpParameters } from "./topUp.js";
export {
  getMessage,
  type DeliveryStatus,
  type GetMessageParameters,
  type MessageInfo,
} from "./getMessage.js";
export {
  waitForDelivery,
  type DeliveryStage,
  type WaitForDeliveryParameters,
} from "./waitForDelivery.js";
export { retry, type RetryParameters } from "./retry.js";
export { claim, type ClaimParameters } from "./claim.js";
export { fund, type FundParameters } from "./fund.js";
export { mint, type MintParameters } from "./mint.js";
export { getToken, type TokenInfo } from "./getToken.js";
export { getBalance, type Balance } from "./getBalance.js";
export {
  getCredit,
  getHeadroom,
  getReserve,
  getRouteStatus,
  type Credit,
  type Headroom,
  type Reserve,
  type RouteStatus,
} from "./getRoute.js";
export {
  getCheckpoint,
  getDeliveryStatuses,
  getFees,
  getNodeHealth,
  getNodeMessage,
  getNodeRoutes,
  getProof,
  postBundle,
  postMessage,
  pullBundle,
} from "../nodeApi/endpoints.js";
export { nodeGet, nodeRequest, type NodeRequestOptions } from "../nodeApi/request.js";
export type {
  Acceptance,
  ChainHealth,
  DestinationStatus,
  Health,
  HandoverState,
  JourneyDestination,
  MessageJourney,
  MessageJson,
  NodeCheckpoint,
  NodeProof,
  NodeRoutes,
  PushAnswer,
} from "../nodeApi/types.js";
export { decodeMessage, encodeMessage, messageId, type Message } from "../protocol/message.js";
export type { Address, Hex } from "viem";
