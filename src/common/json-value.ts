/** A JSON value as found in YAML/JSON documents. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
