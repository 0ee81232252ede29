/**
 * `npm run templates:screenshots`: renders every template in starter-templates/ with its
 * sample-data.json through the engine's own renderer and photographs the HTML in headless
 * Chromium at a desktop and a mobile width, in light and dark colour schemes.
 * Output: template-screenshots/<name>.html, <name>.txt, <name>-<view>.png (gitignored).
 *
 * Usage: npm run templates:screenshots [-- <name> ...]
 * Environment: CHROMIUM_PATH to use a browser other than the Debian `chromium`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileTemplate, renderEmail } from '../functions/core/template-render.js';

interface View {
  name: string;
  width: number;
  height: number;
  dark: boolean;
}

const VIEWS: View[] = [
  { name: 'desktop', width: 800, height: 1300, dark: false },
  { name: 'mobile', width: 390, height: 1500, dark: false },
  { name: 'desktop-dark', width: 800, height: 1300, dark: true },
];

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
const SCREENSHOT_TIMEOUT_MS = 60_000;

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'starter-templates'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Could not find starter-templates/ above this script.');
    dir = parent;
  }
  return dir;
}

function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

/** Runs Chromium once for one screenshot; resolves when the PNG exists. */
function screenshot(chromium: string, url: string, png: string, view: View): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'sesmailengine-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    '--force-device-scale-factor=1',
    `--user-data-dir=${profile}`,
    `--window-size=${view.width},${view.height}`,
    `--screenshot=${png}`,
    ...(view.dark ? ['--force-dark-mode', '--blink-settings=preferredColorScheme=0'] : ['--blink-settings=preferredColorScheme=1']),
    url,
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Chromium took longer than ${SCREENSHOT_TIMEOUT_MS / 1000}s for ${png}.`));
    }, SCREENSHOT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      if (code === 0 && existsSync(png)) resolvePromise();
      else reject(new Error(`Chromium exited with ${code} for ${png}:\n${stderr.trim().split('\n').slice(-5).join('\n')}`));
    });
  });
}

function readOptional(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

async function main(): Promise<number> {
  const chromium = findChromium();
  if (!chromium) {
    console.error(
      [
        'Chromium was not found, so no screenshots can be taken.',
        'Install it (Debian/Ubuntu):  sudo apt-get install -y chromium',
        'or point CHROMIUM_PATH at a Chrome/Chromium binary:  CHROMIUM_PATH=/path/to/chrome npm run templates:screenshots',
      ].join('\n'),
    );
    return 1;
  }

  const root = findRepoRoot();
  const templatesDir = join(root, 'starter-templates');
  const outDir = join(root, 'template-screenshots');
  mkdirSync(outDir, { recursive: true });

  const wanted = process.argv.slice(2);
  const names = readdirSync(templatesDir)
    .filter((name) => statSync(join(templatesDir, name)).isDirectory())
    .filter((name) => wanted.length === 0 || wanted.includes(name))
    .sort();
  if (names.length === 0) {
    console.error(`No templates matched ${wanted.join(', ')}.`);
    return 1;
  }

  let failures = 0;
  for (const name of names) {
    const dir = join(templatesDir, name);
    const compiled = compileTemplate({
      name,
      html: readFileSync(join(dir, 'template.html'), 'utf8'),
      text: readFileSync(join(dir, 'template.txt'), 'utf8'),
      metadata: readFileSync(join(dir, 'metadata.json'), 'utf8'),
    });
    if (!compiled.ok) {
      console.error(`${name}: ${compiled.code} ${compiled.message}`);
      failures++;
      continue;
    }
    const sample = readOptional(join(dir, 'sample-data.json'));
    const data = sample ? (JSON.parse(sample) as Record<string, unknown>) : {};
    const rendered = renderEmail(compiled.value, data, { renderReplyTo: true });
    if (!rendered.ok) {
      console.error(`${name}: ${rendered.code} ${rendered.message}`);
      failures++;
      continue;
    }
    const htmlPath = join(outDir, `${name}.html`);
    writeFileSync(htmlPath, rendered.value.html);
    writeFileSync(join(outDir, `${name}.txt`), `Subject: ${rendered.value.subject}\n\n${rendered.value.text}`);
    for (const view of VIEWS) {
      const png = join(outDir, `${name}-${view.name}.png`);
      rmSync(png, { force: true });
      try {
        await screenshot(chromium, pathToFileURL(htmlPath).href, png, view);
        console.log(`${name}: ${png}`);
      } catch (error) {
        console.error(`${name} (${view.name}): ${error instanceof Error ? error.message : String(error)}`);
        failures++;
      }
    }
  }
  console.log(`\n${names.length} template(s) rendered into ${resolve(outDir)}${failures ? `, ${failures} failure(s)` : ''}.`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
