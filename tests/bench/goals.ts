// What the bench compares with besides the bare server it measures in the
// same run (tests/bench/bare/server.ts). Nothing here is a figure measured on
// some other day: these are goals and facts from the course texts.

export const GOALS = {
  /** Issue 12: a cold start of the lab's "scaled" stage at most this many times the bare stage's. */
  coldStartMaxRatio: 1.3,
  /** Issue 12: a stage switch of the lab (scaled ⇄ ip-hash) within this many ms. */
  switchMaxMs: 2000,
  /** Issue 12: the lab's fan-out throughput at least this share of the bare server's. */
  fanoutMinRatio: 0.9,
  /** LAB-DESIGN §3: telemetry may cost at most this much (latency or throughput), on vs off. */
  telemetryMaxCost: 0.1,
};

/** From the course texts, not measured here. */
export const COURSE_FACTS = {
  /** The usual rule of thumb for one idle Socket.IO connection, in KB. */
  ruleOfThumbKB: [10, 50] as [number, number],
  /** Connections one 2-core server is said to hold. */
  connectionsOn2Cores: [20_000, 40_000] as [number, number],
};
