// Predict, then break: a lesson asks the learner what will happen before a
// check makes it happen, and grades the answer against what the check
// MEASURED on this run (not against a fixed key: the outcome may vary).

import type { CheckResult } from './checks/runner.ts';
import type { Prediction } from './lessons.ts';

export interface Graded {
  /** Whether the chosen answer matches the measurement; null when the check measured nothing. */
  right: boolean | null;
  measured: number | string | boolean | null;
  /** The choices that match what was measured. */
  correct: string[];
  /** One paragraph for the learner: what was measured, whether they were right, and why. */
  summary: string;
}

type Condition = Prediction['choices'][number]['when'];

export function matches(when: Condition, value: number | string | boolean): boolean {
  if (when.eq !== undefined && when.eq !== value) return false;
  if (when.min !== undefined && !(typeof value === 'number' && value >= when.min)) return false;
  if (when.max !== undefined && !(typeof value === 'number' && value <= when.max)) return false;
  return when.eq !== undefined || when.min !== undefined || when.max !== undefined;
}

export function gradePrediction(prediction: Prediction, choice: number, result: CheckResult): Graded {
  const measured = result.measured?.[prediction.measure];
  const picked = prediction.choices[choice]!.text;
  if (measured === undefined) {
    return {
      right: null,
      measured: null,
      correct: [],
      summary: `You said: "${picked}". The lab could not measure it this time (${result.detail}). Try again.`,
    };
  }
  const correct = prediction.choices.filter((c) => matches(c.when, measured)).map((c) => c.text);
  const right = matches(prediction.choices[choice]!.when, measured);
  const verdict = right ? 'Right' : `Not this time: the answer was "${correct[0] ?? 'none of these'}"`;
  // Lead with the answer in the question's own words; the raw figure and the
  // check's line follow as evidence (ids like "nginx-open-files" mean little on their own).
  const seen = correct[0] ? `"${correct[0]}" (${prediction.measure} = ${String(measured)})` : String(measured);
  return {
    right,
    measured,
    correct,
    summary: `You said: "${picked}". ${verdict}. The lab measured: ${seen}. ${prediction.explain} The check said: ${result.detail}`,
  };
}
