import { describe, expect, it } from '@jest/globals';
import { Command } from 'commander';
import { withLocalSourceChecked } from '../../src/argv.js';

function program(): Command {
  const root = new Command('sesmailengine');
  root.command('diagnose').argument('<emailIdOrAddress>').option('--local [source]').option('--json');
  root.command('stats').option('--local [source]').option('--date <day>');
  const suppression = root.command('suppression');
  suppression.command('remove').argument('<email>').option('--local [source]');
  return root;
}

const files = new Set(['local.json']);
const isFile = (path: string) => files.has(path);
const argv = (...words: string[]) => ['node', 'cli.js', ...words];

describe('a word after --local', () => {
  it.each([
    [['diagnose', '--local', 'ada@example.com'], ['diagnose', 'ada@example.com', '--local']],
    [['diagnose', '--local', 'ada@example.com', '--json'], ['diagnose', 'ada@example.com', '--local', '--json']],
    [['suppression', 'remove', '--local', 'ada@example.com'], ['suppression', 'remove', 'ada@example.com', '--local']],
  ])('that cannot be a source becomes the command argument: %j', (given, expected) => {
    expect(withLocalSourceChecked(program(), argv(...given), isFile)).toEqual(argv(...expected));
  });

  it.each([
    ['a URL', 'http://127.0.0.1:4011'],
    ['an HTTPS URL', 'HTTPS://example.test'],
    ['the JSON line', '{"eventBridgeUrl":"x"}'],
    ['an @file', '@elsewhere.json'],
    ['an existing file', 'local.json'],
    ['an option', '--json'],
  ])('stays the source when it is %s', (_what, word) => {
    const words = argv('diagnose', '--local', word, 'ada@example.com');
    expect(withLocalSourceChecked(program(), words, isFile)).toEqual(words);
  });

  it('stays put for a command without arguments (its --local says what it accepts)', () => {
    const words = argv('stats', '--local', 'foo');
    expect(withLocalSourceChecked(program(), words, isFile)).toEqual(words);
  });

  it.each([
    ['a folder', ['diagnose', 'ada@example.com', '--local', './templates']],
    ['an empty word', ['diagnose', 'ada@example.com', '--local', '']],
    ['a blank word', ['diagnose', 'ada@example.com', '--local', ' ']],
    ['a word after --json', ['diagnose', '--json', 'ada@example.com', '--local', 'nope']],
    ['a word after --', ['diagnose', '--local', 'nope', '--', 'ada@example.com']],
    ['a word of a subcommand', ['suppression', 'remove', 'ada@example.com', '--local', 'nope']],
  ])('stays the source (and --local says what it accepts) when the arguments are all given: %s', (_what, given) => {
    const words = argv(...given);
    expect(withLocalSourceChecked(program(), words, isFile)).toEqual(words);
  });

  it('still moves a word when the argument is missing, past options that take values', () => {
    const root = program();
    root.commands.find((c) => c.name() === 'diagnose')!.option('--region <name>');
    expect(withLocalSourceChecked(root, argv('diagnose', '--region', 'eu-west-1', '--local', 'ada@example.com'), isFile)).toEqual(
      argv('diagnose', '--region', 'eu-west-1', 'ada@example.com', '--local'),
    );
  });

  it('leaves a bare --local at the end alone', () => {
    const words = argv('diagnose', 'ada@example.com', '--local');
    expect(withLocalSourceChecked(program(), words, isFile)).toEqual(words);
  });
});
