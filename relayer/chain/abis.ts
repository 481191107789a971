/**
 * The one place the node takes contract ABIs from: the suite's interfaces, generated from the
 * Hardhat artifacts by `npm run build` (relayer/chain/gen-abis.ts).
 */
import { erc20Abi } from "viem";

import {
  ICorrespondentBankAbi,
  IInboxAbi,
  IMessageRecipientAbi,
  IOutboxAbi,
  IRouteRegistryAbi,
  IStakingHubAbi,
} from "./abis.generated.js";

export {
  ICorrespondentBankAbi,
  IInboxAbi,
  IMessageRecipientAbi,
  IOutboxAbi,
  IRouteRegistryAbi,
  IStakingHubAbi,
  erc20Abi,
};

/** Every custom error of the suite, to name a revert whatever contract raised it. */
export const suiteErrorsAbi = [
  ...IOutboxAbi,
  ...IInboxAbi,
  ...IStakingHubAbi,
  ...ICorrespondentBankAbi,
  ...IRouteRegistryAbi,
].filter((item) => item.type === "error");
