import type { BusinessRoute } from './business-contract';
import { jsonBody, reject, route } from './business-route';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** `datacube` reports cover at most this many days per call (user summary: 7). */
const USER_SUMMARY_MAX_DAYS = 7;

/** `/datacube/*`: statistics (the sandbox has no follows or unfollows to report). */
export const DATACUBE_ROUTES: BusinessRoute[] = [
  // 用户增减数据: one entry per day of the range, no follows or unfollows in the sandbox
  route('POST', '/datacube/getusersummary', (ctx) => {
    const body = jsonBody(ctx);
    const begin = String(body.begin_date ?? '');
    const end = String(body.end_date ?? '');
    if (!DATE.test(begin) || !DATE.test(end)) reject(47001, 'data format error');
    const days = (Date.parse(`${end}T00:00:00Z`) - Date.parse(`${begin}T00:00:00Z`)) / 86_400_000 + 1;
    if (!Number.isInteger(days) || days < 1) reject(61500, 'date format error');
    if (days > USER_SUMMARY_MAX_DAYS) reject(61501, 'date range error');
    const list = Array.from({ length: days }, (_, i) => ({
      ref_date: new Date(Date.parse(`${begin}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
      user_source: 0,
      new_user: 0,
      cancel_user: 0,
    }));
    return { list };
  }),
];
