/** Chain-qualified addresses (`<code>x<account>`), from the protocol codec. */
export {
  addressToBytes32,
  bytes32ToAddress,
  ChainAddressError,
  formatChainAddress,
  formatChainCode,
  MAX_CHAIN_CODE,
  parseChainAddress,
  parseChainCode,
  type ChainAddress,
  type ChainAddressErrorReason,
} from "../protocol/chainAddress.js";
