/**
 * The multi-entity and multi-org headers, validated once for the token request and the API client
 * (the rules are the shared core's, `core/zuoraHeaders.ts`).
 *
 * @internal
 */
import * as Either from "effect/Either"
import { InvalidConfiguration } from "../TokenError.js"
import * as Core from "./core/zuoraHeaders.js"

/** `Zuora-Entity-Ids` and `Zuora-Org-Ids` as header entries (none when a list is empty or absent). */
export const entityAndOrgHeaders = (options: {
  readonly entityIds?: ReadonlyArray<string> | undefined
  readonly orgIds?: ReadonlyArray<string> | undefined
}): Either.Either<Record<string, string>, InvalidConfiguration> => {
  const checked = Core.entityAndOrgHeaders(options)
  return checked.ok ? Either.right(checked.value) : Either.left(new InvalidConfiguration(checked.problem))
}
