/** Where the tests find the shared services (the same defaults as the service). */
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/wfm';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEMPLATE_DB = process.env.WFM_TEST_TEMPLATE_DB ?? 'wfm_test_template';
