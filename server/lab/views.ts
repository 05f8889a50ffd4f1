// What the control API's reads return, typed once for the lab (which builds
// them), the CLI and the web UI (which read them). Types only, and nothing
// from Node, so the browser code type-checks against this file too.

import type { Transport } from '../app/protocol.ts';
import type { TelemetryEvent } from './telemetry/events.ts';
import type { HubSnapshot } from './telemetry/hub.ts';

/** `lab status --json`: what runs where (the contract's shape). */
export interface LabStatus {
  lesson: string | null;
  stage: string | null;
  ui: { url: string };
  nginx: { port: number; mode: string } | null;
  redis: { port: number; running: boolean } | null;
  instances: { serverId: string; port: number; pid: number | null; online: boolean; connections: number }[];
}

/** One simulated client, as the CLI and UI list it. */
export interface FleetClientView {
  id: string;
  source: string;
  connected: boolean;
  serverId: string | null;
  transport: Transport | null;
  rooms: string[];
  received: number;
  lastError: string | null;
}

/** GET /api/snapshot, and the first message of the event stream: everything to draw the lab from scratch. */
export interface LabSnapshot extends HubSnapshot {
  status: LabStatus;
  fleet: FleetClientView[];
  stages: { id: string; title: string; lesson: string | null }[];
  /** The latest events, so a page opened late still has a history to show. */
  recent: TelemetryEvent[];
  lessons: { id: string; title: string }[];
}

/** A prediction the learner made, and how what the lab measured turned out. */
export interface PredictionResult {
  /** The choice the learner made (index), and whether what the lab measured bore it out. */
  choice: number;
  right: boolean;
  measured: number | string | boolean | null;
  at: number;
}

/** GET /api/lessons: the lesson panel's content, and where the learner is. */
export interface LessonsView {
  current: string | null;
  started: string[];
  passed: string[];
  predictions: Record<string, Record<string, PredictionResult>>;
  lessons: LessonView[];
}

export interface LessonView {
  id: string;
  number: string;
  title: string;
  summary: string;
  begin: string;
  target: string;
  checks: { id: string; title: string }[];
  /** The task, and the files the learner edits. */
  exercise: { task: string; files: string[] };
  predictions: { id: string; question: string; choices: string[] }[];
  hints: string[];
  readme: string;
}
