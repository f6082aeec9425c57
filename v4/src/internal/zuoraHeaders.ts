/**
 * The multi-entity and multi-org headers, validated once for the token request and the API client.
 *
 * @internal
 */
import * as Result from "effect/Result"
import { InvalidConfiguration } from "../TokenError.js"

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const orgId = /^[\x21-\x7E]+$/

/** `Zuora-Entity-Ids` and `Zuora-Org-Ids` as header entries (none when a list is empty or absent). */
export const entityAndOrgHeaders = (options: {
  readonly entityIds?: ReadonlyArray<string> | undefined
  readonly orgIds?: ReadonlyArray<string> | undefined
}): Result.Result<Record<string, string>, InvalidConfiguration> => {
  const out: Record<string, string> = {}
  for (const setting of ["entityIds", "orgIds"] as const) {
    const value: unknown = options[setting]
    if (value !== undefined && !(Array.isArray(value) && value.every((id) => typeof id === "string"))) {
      return Result.fail(new InvalidConfiguration({ setting, description: "must be an array of strings" }))
    }
  }
  if (options.entityIds !== undefined && options.entityIds.length > 0) {
    const bad = options.entityIds.findIndex((id) => !uuid.test(id))
    if (bad >= 0) {
      return Result.fail(
        new InvalidConfiguration({
          setting: "entityIds",
          description: `entry ${bad} is not a UUID with hyphens (36 characters)`
        })
      )
    }
    out["zuora-entity-ids"] = options.entityIds.join(",")
  }
  if (options.orgIds !== undefined && options.orgIds.length > 0) {
    const bad = options.orgIds.findIndex((id) => !orgId.test(id) || id.includes(","))
    if (bad >= 0) {
      return Result.fail(
        new InvalidConfiguration({
          setting: "orgIds",
          description: `entry ${bad} is empty or contains a comma, a space or a control character`
        })
      )
    }
    out["zuora-org-ids"] = options.orgIds.join(",")
  }
  return Result.succeed(out)
}
