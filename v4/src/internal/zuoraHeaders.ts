/**
 * The multi-entity and multi-org headers, validated once for the token request and the API client
 * (the rules are the shared core's, `core/zuoraHeaders.ts`).
 *
 * @internal
 */
import * as Result from "effect/Result"
import * as Core from "../../../dist/internal/core/zuoraHeaders.js"
import { InvalidConfiguration } from "../TokenError.js"

/** `Zuora-Entity-Ids` and `Zuora-Org-Ids` as header entries (none when a list is empty or absent). */
export const entityAndOrgHeaders = (options: {
  readonly entityIds?: ReadonlyArray<string> | undefined
  readonly orgIds?: ReadonlyArray<string> | undefined
}): Result.Result<Record<string, string>, InvalidConfiguration> => {
  const checked = Core.entityAndOrgHeaders(options)
  return checked.ok ? Result.succeed(checked.value) : Result.fail(new InvalidConfiguration(checked.problem))
}
