import { SendEmailCommand, type Attachment, type MessageHeader, type MessageTag } from '@aws-sdk/client-sesv2';
import type { LoadedAttachment } from '../core/attachments.js';
import type { EmailAddress } from '../core/email-address.js';
import { engineMessageTags } from '../core/message-tags.js';
import type { Outcome } from '../core/outcome.js';
import type { ValidRequest } from '../core/request-validation.js';
import { signUnsubscribeToken, unsubscribeUrl } from '../core/unsubscribe-token.js';
import { ConfigError } from '../lib/env.js';
import { loadUnsubscribeSecret } from '../lib/secrets.js';
import type { Runtime } from './sender-records.js';

/** An email ready for SES: rendered, addressed, with its headers and attachments loaded. */
export interface PreparedEmail {
  subject: string;
  html: string;
  text: string;
  fromHeader: string;
  replyTo: EmailAddress | undefined;
  headers: MessageHeader[] | undefined;
  files: LoadedAttachment[];
}

/** SES builds the MIME part (base64, RFC 2231 filename encoding) from these fields. */
function sesAttachment(file: LoadedAttachment): Attachment {
  return { RawContent: file.content, FileName: file.filename, ContentType: file.contentType, ContentDisposition: 'ATTACHMENT', ContentTransferEncoding: 'BASE64' };
}

/** The one-click unsubscribe link of this recipient and the List-Unsubscribe headers that carry it. */
export async function unsubscribeHeaders(rt: Runtime, request: ValidRequest): Promise<Outcome<{ link: string; headers: MessageHeader[] }>> {
  const url = rt.config.unsubscribeUrl;
  if (url === undefined) {
    return { ok: false, code: 'UNS001', message: 'This email needs an unsubscribe link, but UNSUBSCRIBE_URL is not set.' };
  }
  let secret: string;
  try {
    secret = await loadUnsubscribeSecret(rt.env);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, code: 'UNS001', message: error.message };
    throw error;
  }
  const link = unsubscribeUrl(url, signUnsubscribeToken(secret, request.to.address));
  const targets = [`<${link}>`];
  if (rt.config.unsubscribeMailto) targets.push(`<mailto:${rt.config.unsubscribeMailto}?subject=unsubscribe>`);
  return {
    ok: true,
    value: {
      link,
      headers: [
        { Name: 'List-Unsubscribe', Value: targets.join(', ') },
        { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
      ],
    },
  };
}

export function sendEmailCommand(request: ValidRequest, email: PreparedEmail, configurationSet: string): SendEmailCommand {
  const tags: MessageTag[] = engineMessageTags(request.emailId, request.templateName);
  const body = {
    ...(email.html.trim() !== '' ? { Html: { Data: email.html, Charset: 'UTF-8' } } : {}),
    ...(email.text.trim() !== '' ? { Text: { Data: email.text, Charset: 'UTF-8' } } : {}),
  };
  return new SendEmailCommand({
    FromEmailAddress: email.fromHeader,
    Destination: { ToAddresses: [request.to.address] },
    ...(email.replyTo ? { ReplyToAddresses: [email.replyTo.address] } : {}),
    ConfigurationSetName: configurationSet,
    EmailTags: tags,
    Content: {
      Simple: {
        Subject: { Data: email.subject, Charset: 'UTF-8' },
        Body: body,
        ...(email.headers ? { Headers: email.headers } : {}),
        ...(email.files.length > 0 ? { Attachments: email.files.map(sesAttachment) } : {}),
      },
    },
  });
}
