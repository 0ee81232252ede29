import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadTemplate, TEMPLATE_PATH } from '../support/cloudformation.js';
import { loadResourceSpec } from '../support/cfn-spec-validation.js';
import {
  DATA_BEARING_TYPES,
  NAMED_TYPES,
  namedResources,
  planLeftovers,
  type FoundResource,
} from '../../src/installer/named-resources.js';
import { importTemplateBody, parseTemplateDocument } from '../../src/installer/template-document.js';

/**
 * The real template against the current resource specification (@aws-cdk/aws-service-spec):
 * every resource the specification marks stateful keeps its data when the stack deletes or
 * replaces it, the installer knows each of those types (so an upgrade refuses to replace
 * one), and a reinstall can bring every kept resource back by the identifier the
 * specification gives as its primaryIdentifier.
 */

const spec = loadResourceSpec();
const template = loadTemplate();
const resources = Object.entries(template.Resources);
const isStateful = (type: string) => spec.resource(type)?.isStateful === true;
/**
 * Stateful resources the stack deliberately deletes, with the reason. The webhook signing
 * key exists only while WebhookUrl is set: kept outside the stack it would be in the way
 * when webhooks are turned on again (and would cost every month); a new key is generated
 * instead and `sesmailengine webhook secret` prints it.
 */
const RECREATED = new Set(['WebhookSecret']);
const stateful = resources.filter(([id, r]) => isStateful(r.Type) && !RECREATED.has(id));
const STACK = 'sesmailengine';

describe('data the stack holds', () => {
  it('has stateful resources to protect (the specification marks tables, queues, log groups, secrets)', () => {
    expect([...new Set(stateful.map(([, r]) => r.Type))]).toEqual(
      expect.arrayContaining(['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup', 'AWS::SecretsManager::Secret']),
    );
    expect(stateful.length).toBeGreaterThanOrEqual(13);
  });

  it('deletes only the webhook signing key, which has no fixed name to be in the way', () => {
    for (const id of RECREATED) {
      const r = template.Resources[id]!;
      expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy, condition: r.Condition }).toEqual({ id, deletion: 'Delete', replace: 'Delete', condition: 'HasWebhook' });
      expect((r.Properties as { Name?: unknown }).Name).toBeUndefined();
    }
  });

  it.each(stateful.map(([id, r]) => [id, r.Type]))('%s (%s) keeps its data on delete and on replacement', (id) => {
    const r = template.Resources[id]!;
    expect(['Retain', 'RetainExceptOnCreate', 'Snapshot']).toContain(r.DeletionPolicy);
    expect(['Retain', 'Snapshot']).toContain(r.UpdateReplacePolicy);
  });

  it('the installer treats every stateful type of the specification used here as data-bearing', () => {
    for (const [, r] of stateful) {
      expect({ type: r.Type, dataBearing: DATA_BEARING_TYPES.has(r.Type), holdsData: NAMED_TYPES[r.Type]?.holdsData }).toEqual({
        type: r.Type,
        dataBearing: true,
        holdsData: true,
      });
    }
  });

  it("the installer's data-bearing types are all stateful in the specification", () => {
    for (const type of DATA_BEARING_TYPES) expect({ type, stateful: isStateful(type) }).toEqual({ type, stateful: true });
  });

  it('gives every kept resource a fixed name, so a reinstall can find it', () => {
    const named = new Set(namedResources(parseTemplateDocument(readFileSync(TEMPLATE_PATH, 'utf8')), STACK).filter((r) => r.kept).map((r) => r.logicalId));
    expect(new Set(stateful.map(([id]) => id))).toEqual(named);
  });
});

describe('bringing kept data back (resource import)', () => {
  it("names each resource type by the specification's primaryIdentifier", () => {
    for (const [type, named] of Object.entries(NAMED_TYPES)) {
      expect({ type, primaryIdentifier: named.primaryIdentifier }).toEqual({ type, primaryIdentifier: spec.resource(type)?.primaryIdentifier });
    }
    expect(NAMED_TYPES['AWS::DynamoDB::Table']!.primaryIdentifier).toEqual(['TableName']);
  });

  it('imports every kept resource of the template in one IMPORT change set that holds only them', () => {
    const doc = parseTemplateDocument(readFileSync(TEMPLATE_PATH, 'utf8'));
    const kept = namedResources(doc, STACK).filter((r) => r.kept);
    // As if an uninstall had left all of them: each found under its name, tables with the right keys.
    const found: FoundResource[] = kept.map((r) => {
      const key = (doc.Resources[r.logicalId]!.Properties?.KeySchema as { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[] | undefined) ?? [];
      return {
        ...r,
        existing: {
          identifier: Object.fromEntries(NAMED_TYPES[r.type]!.primaryIdentifier.map((k) => [k, r.name])),
          keySchema: key.map((k) => ({ name: k.AttributeName, keyType: k.KeyType, attributeType: 'S' })),
        },
      };
    });
    const plan = planLeftovers(doc, found);
    expect(plan.collisions).toEqual([]);
    expect(plan.incomplete).toEqual([]);
    expect(plan.schemaMismatches).toEqual([]);
    expect(plan.toImport.map((r) => r.logicalId).sort()).toEqual(stateful.map(([id]) => id).sort());

    const body = JSON.parse(importTemplateBody(doc, plan.toImport.map((r) => r.logicalId))) as { Resources: Record<string, { Type: string; DeletionPolicy?: string }>; Outputs?: unknown };
    expect(Object.keys(body.Resources).sort()).toEqual(stateful.map(([id]) => id).sort());
    for (const r of Object.values(body.Resources)) expect(r.DeletionPolicy).toBeDefined();
    expect(body.Outputs).toBeUndefined();
    const tables = plan.toImport.filter((r) => r.type === 'AWS::DynamoDB::Table');
    expect(tables.map((t) => t.existing.identifier)).toEqual([
      { TableName: `${STACK}-EmailTracking` },
      { TableName: `${STACK}-Suppression` },
      { TableName: `${STACK}-Counters` },
    ]);
  });
});
