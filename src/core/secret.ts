import { inspect } from 'node:util';

const REDACTED = '(sensitive)';

/**
 * A secret value (API token, tunnel secret, credentials). Every way of turning it
 * into text — String(), JSON.stringify, util.inspect, template literals — yields
 * "(sensitive)". Only `reveal()` gives the value, and only adapters call it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
  equals(other: Secret | undefined): boolean {
    return other !== undefined && other.#value === this.#value;
  }
}

export const SENSITIVE = REDACTED;
