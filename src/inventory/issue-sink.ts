import type { InventoryIssue } from '../core/errors.js';
import type { Position, SourceMap } from './source-map.js';

/**
 * Collects problems by field; positions are looked up at the end so checks only deal
 * in field paths. `at: 'key'` points at the key itself (unknown keys).
 */
export class IssueSink {
  readonly issues: InventoryIssue[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly positions: SourceMap) {}

  error(field: string, message: string, hint?: string, options: { at?: 'key' | 'value'; position?: Position } = {}): void {
    const { line, column } =
      options.position ?? (options.at === 'key' ? this.positions.keyPosition(field) : this.positions.position(field));
    this.issues.push({ file: this.positions.file, line, column, field, message, ...(hint ? { hint } : {}) });
  }

  warn(field: string, message: string, position?: Position): void {
    const where = position ? `${this.positions.file}:${position.line}:${position.column}` : this.positions.locate(field);
    this.warnings.push(`${where}${field ? ` ${field}:` : ''} ${message}`);
  }

  /** "file:line:col" of a field, for messages that name a second place. */
  locate(field: string): string {
    return this.positions.locate(field);
  }
}
