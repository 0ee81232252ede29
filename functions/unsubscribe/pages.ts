import { createHash } from 'node:crypto';

/**
 * The few HTML pages the unsubscribe endpoint serves. No scripts, one inline style
 * allowed by its hash in the Content-Security-Policy, every echoed value escaped.
 */

const STYLE = [
  'body{margin:0;background:#f4f5f7;font:16px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2933}',
  'main{max-width:28rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12)}',
  'h1{font-size:1.35rem;margin:0 0 .75rem}',
  'p{margin:0 0 1rem}',
  '.address{font-weight:600;word-break:break-all}',
  'button{font:inherit;font-weight:600;color:#fff;background:#c62828;border:0;border-radius:8px;padding:.7rem 1.4rem;cursor:pointer}',
  'button:hover,button:focus{background:#a91f1f}',
  '.muted{color:#616e7c;font-size:.875rem}',
  '@media (prefers-color-scheme:dark){body{background:#111827;color:#e5e7eb}main{background:#1f2937;box-shadow:none}.muted{color:#9ca3af}}',
].join('');

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, inner: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex,nofollow">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<main>${inner}</main>`,
    '</body>',
    '</html>',
  ].join('\n');
}

/** GET: asks for confirmation; the button POSTs the RFC 8058 body back to the same link. */
export function confirmPage(email: string, token: string): string {
  const action = `?token=${encodeURIComponent(token)}`;
  return page(
    'Unsubscribe',
    [
      '<h1>Unsubscribe?</h1>',
      `<p>Stop sending email to <span class="address">${escapeHtml(email)}</span>?</p>`,
      `<form method="post" action="${escapeHtml(action)}">`,
      '<input type="hidden" name="List-Unsubscribe" value="One-Click">',
      '<button type="submit">Unsubscribe</button>',
      '</form>',
      '<p class="muted">Nothing changes until you press the button.</p>',
    ].join('\n'),
  );
}

export function donePage(email: string): string {
  return page(
    'Unsubscribed',
    [
      '<h1>You are unsubscribed</h1>',
      `<p><span class="address">${escapeHtml(email)}</span> will not receive these emails any more.</p>`,
    ].join('\n'),
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}
