/**
 * templates: render throughput of the eight starter templates (subject + HTML + text, with
 * their sample data), three ways:
 * - cached: compiled once and kept, as the Email Sender does for TEMPLATE_CACHE_SECONDS;
 * - cold, compile only: metadata parsed and every part compiled again for each render;
 * - cold, from S3: the template store with a cache period of 0, so each render fetches the
 *   three files from S3 (s3rver, in this process) and compiles them.
 * Renders per second are wall clock on this machine; the CPU time per render and the
 * cached ÷ cold ratios are the figures to compare across machines (the S3 figure includes
 * s3rver's own CPU, since it runs in this process).
 */
import { performance } from 'node:perf_hooks';
import { startStandIns } from '../../tests/support/stand-ins.js';
import { starterTemplate, uploadStarterTemplates } from '../../tests/support/sender-events.js';
import { compileTemplate, renderEmail, type CompiledTemplate, type TemplateSource } from '../../functions/core/template-render.js';
import { createTemplateStore } from '../../functions/lib/template-store.js';
import type { Outcome } from '../../functions/core/outcome.js';

export const STARTERS = ['welcome', 'password-reset', 'order-confirmation', 'invoice', 'newsletter', 'contact-form-notification', 'email-verification', 'notification'];
const CACHED_RUNS = Number(process.env.TEMPLATES_BENCH_CACHED ?? 3000);
const COMPILE_RUNS = Number(process.env.TEMPLATES_BENCH_COMPILE ?? 300);
const S3_RUNS = Number(process.env.TEMPLATES_BENCH_S3 ?? 100);

export interface Throughput {
  renders: number;
  seconds: number;
  cpuMs: number;
  perSecond: number;
  cpuMsPerRender: number;
}

export interface TemplateResult {
  name: string;
  cached: Throughput;
  compile: Throughput;
  s3: Throughput & { getObjectsPerRender: number };
}

async function timed(renders: number, body: () => Promise<void> | void): Promise<Throughput> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await body();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return { renders, seconds, cpuMs, perSecond: renders / seconds, cpuMsPerRender: cpuMs / renders };
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
  return outcome.value;
}

function total(parts: Throughput[]): Throughput {
  const renders = parts.reduce((s, p) => s + p.renders, 0);
  const seconds = parts.reduce((s, p) => s + p.seconds, 0);
  const cpuMs = parts.reduce((s, p) => s + p.cpuMs, 0);
  return { renders, seconds, cpuMs, perSecond: renders / seconds, cpuMsPerRender: cpuMs / renders };
}

export async function measureTemplates(): Promise<{ perTemplate: TemplateResult[]; cached: Throughput; compile: Throughput; s3: Throughput }> {
  const env = await startStandIns('bench-templates');
  let getObjects = 0;
  env.s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') getObjects += 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountGets' },
  );
  const perTemplate: TemplateResult[] = [];
  try {
    await uploadStarterTemplates(env.s3, env.bucket, STARTERS);
    const store = createTemplateStore({ s3: env.s3, bucket: env.bucket, ttlSeconds: 0, missingTtlSeconds: 0, prepare: compileTemplate });
    for (const name of STARTERS) {
      const files = starterTemplate(name);
      const source: TemplateSource = { name, html: files.html, text: files.text, metadata: files.metadata as string };
      const data = files.sampleData;
      const compiled: CompiledTemplate = unwrap(compileTemplate(source));
      for (let i = 0; i < 200; i++) unwrap(renderEmail(compiled, data));

      const cached = await timed(CACHED_RUNS, () => {
        for (let i = 0; i < CACHED_RUNS; i++) unwrap(renderEmail(compiled, data));
      });
      const compile = await timed(COMPILE_RUNS, () => {
        for (let i = 0; i < COMPILE_RUNS; i++) unwrap(renderEmail(unwrap(compileTemplate(source)), data));
      });
      await store.get(name); // connections up
      const before = getObjects;
      const s3 = await timed(S3_RUNS, async () => {
        for (let i = 0; i < S3_RUNS; i++) unwrap(renderEmail(unwrap(await store.get(name)), data));
      });
      perTemplate.push({ name, cached, compile, s3: { ...s3, getObjectsPerRender: (getObjects - before) / S3_RUNS } });
    }
  } finally {
    await env.stop();
  }
  return {
    perTemplate,
    cached: total(perTemplate.map((t) => t.cached)),
    compile: total(perTemplate.map((t) => t.compile)),
    s3: total(perTemplate.map((t) => t.s3)),
  };
}

export function printTemplates(result: Awaited<ReturnType<typeof measureTemplates>>, log: (line: string) => void = console.log): void {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const ms = (x: number) => x.toFixed(3);
  log(`${'template'.padEnd(28)}${'cached/s'.padStart(10)}${'compile/s'.padStart(11)}${'S3+compile/s'.padStart(14)}${'CPU ms cached'.padStart(15)}${'compile'.padStart(9)}${'S3'.padStart(8)}${'GETs'.padStart(6)}`);
  for (const t of result.perTemplate) {
    log(`${t.name.padEnd(28)}${n(t.cached.perSecond).padStart(10)}${n(t.compile.perSecond).padStart(11)}${n(t.s3.perSecond).padStart(14)}${ms(t.cached.cpuMsPerRender).padStart(15)}${ms(t.compile.cpuMsPerRender).padStart(9)}${ms(t.s3.cpuMsPerRender).padStart(8)}${t.s3.getObjectsPerRender.toFixed(0).padStart(6)}`);
  }
  const { cached, compile, s3 } = result;
  log(`${'all eight'.padEnd(28)}${n(cached.perSecond).padStart(10)}${n(compile.perSecond).padStart(11)}${n(s3.perSecond).padStart(14)}${ms(cached.cpuMsPerRender).padStart(15)}${ms(compile.cpuMsPerRender).padStart(9)}${ms(s3.cpuMsPerRender).padStart(8)}`);
  log(`cached is ${(compile.cpuMsPerRender / cached.cpuMsPerRender).toFixed(1)}× cheaper in CPU than compiling each time, ${(s3.cpuMsPerRender / cached.cpuMsPerRender).toFixed(1)}× cheaper than fetching from S3 and compiling (wall: ${(cached.perSecond / s3.perSecond).toFixed(0)}× the renders per second)`);
}

export const benchmark = {
  name: 'templates: starter template renders, cached vs compiled each time vs fetched from S3 and compiled',
  async run(): Promise<void> {
    printTemplates(await measureTemplates());
  },
};
