/** The TypeScript codec of DistPOS: the one implementation of every protocol encoding. */
export * from "./chainAddress.js";
export * from "./checkpoint.js";
export * from "./delivery.js";
export * from "./merkle.js";
export * from "./message.js";
export type { Address, Hex } from "viem";
