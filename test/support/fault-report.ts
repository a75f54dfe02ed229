import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One fault scenario as measured by the e2e test that staged it. */
export interface FaultResult {
  scenario: string;
  /** Tokens handed to callers that WeChat no longer accepted (checked at the simulator); null when no token is served. */
  invalidServed: number | null;
  /** Calls that got an error instead of an answer (by design or not; `note` says which). */
  callerErrors: number | null;
  /** Seconds from the fault (or its end) until the service was whole again; null when it never degraded. */
  recoverySeconds: number | null;
  /** What else the test checked, in a few words. */
  note: string;
}

/** Where the fault suite's figures go; `npm run test:fault` and `.ci/run` print them as a table. */
export const FAULT_REPORT_FILE =
  process.env.WXHUB_FAULT_REPORT ?? join(__dirname, '..', '..', '.test-artifacts', 'fault-report.jsonl');

/** Records a scenario's figures (one JSON line), after the test's own assertions have run. */
export function reportFault(result: FaultResult): void {
  mkdirSync(dirname(FAULT_REPORT_FILE), { recursive: true });
  appendFileSync(FAULT_REPORT_FILE, `${JSON.stringify({ ...result, at: new Date().toISOString() })}\n`);
}
