/**
 * A template name: a folder under `templates/` and part of S3 keys, so a safe identifier —
 * letters, digits, "-" and "_", starting with a letter or digit, at most 64 characters.
 * Requests, the template store, the seeder and the CLI all check names with this one rule.
 */
export const TEMPLATE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
