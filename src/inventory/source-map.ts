import type { SourcePositions } from './types.js';

export interface Position {
  line: number;
  column: number;
}

/** Dotted field path of a child: `guests` + 1 → `guests[1]`, `proxmox` + `url` → `proxmox.url`. */
export function childField(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** `guests[1].services[0]` → `guests[1]`; `proxmox.url` → `proxmox`; `tunnel` → ``. */
export function parentField(field: string): string {
  const cut = Math.max(field.lastIndexOf('.'), field.lastIndexOf('['));
  return cut <= 0 ? '' : field.slice(0, cut);
}

/**
 * Where every node of the inventory came from. Values and keys are kept apart so an
 * unknown key points at the key, a bad value at the value, and a missing field at
 * the map that should hold it.
 */
export class SourceMap implements SourcePositions {
  readonly #values = new Map<string, Position>();
  readonly #keys = new Map<string, Position>();

  constructor(readonly file: string) {}

  setValue(field: string, position: Position): void {
    if (!this.#values.has(field)) this.#values.set(field, position);
  }

  setKey(field: string, position: Position): void {
    if (!this.#keys.has(field)) this.#keys.set(field, position);
  }

  keyPosition(field: string): Position {
    return this.#keys.get(field) ?? this.position(field);
  }

  /** Position of the field's value; for an absent field, of the nearest map that exists. */
  position(field: string): Position {
    let current = field;
    for (;;) {
      const found = this.#values.get(current) ?? this.#keys.get(current);
      if (found) return found;
      if (current === '') return { line: 1, column: 1 };
      current = parentField(current);
    }
  }

  locate(field: string): string {
    const { line, column } = this.position(field);
    return `${this.file}:${line}:${column}`;
  }
}
