/** A well-formed session secret for tests that build `open-session` entries by hand. */
export const TEST_SECRET = '5e'.repeat(16);
