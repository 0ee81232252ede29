/**
 * Caller data (templateData, metadata) in a form the DynamoDB document client marshals
 * exactly, whatever its keys.
 *
 * The marshaller (@aws-sdk/util-dynamodb `convertToAttr`) chooses an attribute type by duck
 * typing: `value.constructor.name` ("Set", "Map", "Object", "String", "Number", "Boolean",
 * typed-array names) and then `value.toString()` / `value.valueOf()`. A JSON object whose own
 * keys shadow those names breaks it: `{"constructor": "x"}` makes every write throw (the
 * request cycles into the DLQ), `{"constructor": {"name": "String"}}` is stored as
 * "[object Object]", `{"constructor": {"name": "Number"}}` as null. Such keys are ordinary
 * data to a caller, so nothing may depend on them.
 *
 * A `Map` has no own properties: its `constructor` is always Map's, and the marshaller turns
 * it into a map attribute (M) entry by entry. So every plain object inside a value is handed
 * over as a Map. Read back, an M attribute becomes a plain object with the same own keys.
 * (`__proto__` is the one key this cannot carry; request validation refuses it, VAL006.)
 */

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map) && !(value instanceof Set) && !ArrayBuffer.isView(value);
}

/** `value` with every plain object (at any depth) replaced by a Map of its own entries. */
export function marshallSafe(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(marshallSafe);
  if (isPlainObject(value)) return new Map(Object.entries(value).map(([key, item]) => [key, marshallSafe(item)]));
  return value;
}

/**
 * An item for PutItem: its attributes stay a plain object (the document client walks the
 * item's own keys, which the engine chooses), each attribute's value made safe.
 */
export function marshallSafeItem<T extends object>(item: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([key, value]) => [key, marshallSafe(value)]));
}
