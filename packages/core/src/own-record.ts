// Records keyed by budget names, which may be any id (even '__proto__'): always own data properties.

/** Sets `record[key] = value` as an own property, so that no name can reach the prototype. */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}
