import { afterAll, describe, expect, it } from '@jest/globals';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJournal, encodeEntry, JournalCorruptError, type JournalEntry } from '../../../src/local/dynamodb/journal.js';
import { LocalDynamoDb } from '../../../src/local/dynamodb/store.js';
import { SUPPRESSION_TABLE, createTableInput } from '../../../functions/lib/table-schemas.js';

const dir = mkdtempSync(join(tmpdir(), 'sesmailengine-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const put = (email: string): JournalEntry => [{ op: 'put', table: 'T', item: { email: { S: email } } }];

describe('journal lines', () => {
  it('reads back what was written', () => {
    const text = encodeEntry(put('a')) + encodeEntry(put('b'));
    expect(decodeJournal(text, 'j')).toEqual({ entries: [put('a'), put('b')], torn: false });
  });

  it('drops a last line that a kill cut short', () => {
    const whole = encodeEntry(put('a'));
    const cut = encodeEntry(put('b')).slice(0, 20);
    expect(decodeJournal(whole + cut, 'j')).toEqual({ entries: [put('a')], torn: true });
  });

  it('drops a last line whose checksum does not match', () => {
    const bad = encodeEntry(put('b')).replace('"b"', '"c"');
    expect(decodeJournal(encodeEntry(put('a')) + bad, 'j')).toEqual({ entries: [put('a')], torn: true });
  });

  it('refuses a damaged line with good lines after it, naming the file and line', () => {
    const bad = encodeEntry(put('b')).replace('"b"', '"c"');
    const text = encodeEntry(put('a')) + bad + encodeEntry(put('d'));
    expect(() => decodeJournal(text, '/data/tables.2.journal')).toThrow(JournalCorruptError);
    expect(() => decodeJournal(text, '/data/tables.2.journal')).toThrow('/data/tables.2.journal is damaged at line 2');
  });
});

const options = { region: 'us-east-1', account: '000000000000' };

function call(db: LocalDynamoDb, operation: string, request: unknown): Promise<{ statusCode: number; body: string }> {
  return Promise.resolve(db.respond(operation, JSON.stringify(request)));
}

function putSuppression(email: string): { TableName: string; Item: Record<string, unknown> } {
  return { TableName: 'Sup', Item: { email: { S: email }, suppressionType: { S: 'bounce' }, createdAt: { S: '2026-01-01' } } };
}

/** The data folder as a kill -9 right now would leave it (a copy; the store keeps running). */
function killedCopy(folder: string, name: string): string {
  const copy = join(dir, name);
  cpSync(folder, copy, { recursive: true });
  return copy;
}

async function emails(db: LocalDynamoDb): Promise<string[]> {
  const out = JSON.parse((await call(db, 'Scan', { TableName: 'Sup' })).body) as { Items: { email: { S: string } }[] };
  return out.Items.map((item) => item.email.S).sort();
}

describe('the store with a journal', () => {
  it('answers a write only once it is in the journal, and a restart without a snapshot finds it', async () => {
    const folder = join(dir, 'answered');
    mkdirSync(folder);
    const db = await LocalDynamoDb.open({ ...options, dataFile: join(folder, 'tables.json') });
    expect((await call(db, 'CreateTable', createTableInput('Sup', SUPPRESSION_TABLE))).statusCode).toBe(200);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => call(db, 'PutItem', putSuppression(`a${i}@example.com`))));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    await call(db, 'DeleteItem', { TableName: 'Sup', Key: { email: { S: 'a0@example.com' } } });
    await call(db, 'UpdateItem', { TableName: 'Sup', Key: { email: { S: 'a1@example.com' } }, UpdateExpression: 'SET reason = :r', ExpressionAttributeValues: { ':r': { S: 'x' } } });

    const copy = killedCopy(folder, 'answered-killed');
    // No snapshot yet (it is saved a while after the changes): only the journal holds them.
    expect(readdirSync(copy)).toEqual(['tables.1.journal']);
    await db.close();

    const again = await LocalDynamoDb.open({ ...options, dataFile: join(copy, 'tables.json') });
    expect(await emails(again)).toEqual(Array.from({ length: 49 }, (_, i) => `a${i + 1}@example.com`).sort());
    const got = JSON.parse((await call(again, 'GetItem', { TableName: 'Sup', Key: { email: { S: 'a1@example.com' } } })).body) as { Item: { reason: { S: string } } };
    expect(got.Item.reason.S).toBe('x');
    // Replayed and folded at once: a snapshot, no journal left.
    expect(readdirSync(copy)).toEqual(['tables.json']);
    await again.close();
  });

  it('drops a torn journal tail cleanly and keeps every answered change before it', async () => {
    const folder = join(dir, 'torn');
    mkdirSync(folder);
    const db = await LocalDynamoDb.open({ ...options, dataFile: join(folder, 'tables.json') });
    await call(db, 'CreateTable', createTableInput('Sup', SUPPRESSION_TABLE));
    for (let i = 0; i < 5; i++) await call(db, 'PutItem', putSuppression(`t${i}@example.com`));
    const copy = killedCopy(folder, 'torn-killed');
    await db.close();
    appendFileSync(join(copy, 'tables.1.journal'), encodeEntry([{ op: 'put', table: 'Sup', item: { email: { S: 'never@example.com' } } }]).slice(0, 30));

    const again = await LocalDynamoDb.open({ ...options, dataFile: join(copy, 'tables.json') });
    expect(await emails(again)).toEqual(['t0@example.com', 't1@example.com', 't2@example.com', 't3@example.com', 't4@example.com']);
    await call(again, 'PutItem', putSuppression('after@example.com'));
    await again.close();
    const third = await LocalDynamoDb.open({ ...options, dataFile: join(copy, 'tables.json') });
    expect(await emails(third)).toContain('after@example.com');
    await third.close();
  });

  it('replays only the journal files the snapshot does not hold', async () => {
    const folder = join(dir, 'folded');
    mkdirSync(folder);
    const dataFile = join(folder, 'tables.json');
    const db = await LocalDynamoDb.open({ ...options, dataFile, foldBytes: 1 });
    await call(db, 'CreateTable', createTableInput('Sup', SUPPRESSION_TABLE));
    await call(db, 'PutItem', putSuppression('before@example.com'));
    // With a fold size this small, the snapshot is saved about a second after a change, folding journal 1 into it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(JSON.parse(readFileSync(dataFile, 'utf8')).journal).toBe(1);
    await call(db, 'PutItem', putSuppression('after@example.com'));
    await call(db, 'DeleteItem', { TableName: 'Sup', Key: { email: { S: 'before@example.com' } } });
    const copy = killedCopy(folder, 'folded-killed');
    await db.close();
    expect(readdirSync(copy).sort()).toEqual(['tables.2.journal', 'tables.json']);
    // A journal file the snapshot already holds (left by a kill between the save and the delete) is not replayed.
    writeFileSync(join(copy, 'tables.1.journal'), encodeEntry(put('stale')));

    const again = await LocalDynamoDb.open({ ...options, dataFile: join(copy, 'tables.json') });
    expect(await emails(again)).toEqual(['after@example.com']);
    expect(readdirSync(copy)).toEqual(['tables.json']);
    await again.close();
  });

  it('deletes the temporary files of a killed save at open', async () => {
    const folder = join(dir, 'stale');
    mkdirSync(folder);
    // 2^22 + 1 is above Linux's largest process id: no live process has it.
    writeFileSync(join(folder, 'tables.json.4194305.3.tmp'), '{"version":1,"tab');
    writeFileSync(join(folder, `tables.json.${process.pid}.1.tmp`), '{"version":1,"tab');
    const db = await LocalDynamoDb.open({ ...options, dataFile: join(folder, 'tables.json') });
    expect(readdirSync(folder)).toEqual([]);
    await db.close();
  });
});
