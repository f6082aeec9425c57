import * as Clock from "effect/Clock"

export const now = Clock.currentTimeMillis
