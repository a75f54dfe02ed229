import { killAll } from './processes';

// NOTE: Jest 30 ignores `testTimeout` inside a `projects` entry (only the root value reaches the
// runner), so the e2e project sets its timeout here.
jest.setTimeout(120_000);

afterAll(killAll);
