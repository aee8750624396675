import type { Type as ClassType } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { SemanticError } from '../problem/domain-error.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** `?limit=&after=` of every operator list (keyset pagination; `after` is the previous page's `next`). */
export class PageQueryDto {
  @ApiPropertyOptional({
    description: 'Cursor: the `next` value of the previous page (leave out for the first page)',
    example: 'WyIyMDI2LTEyLTAyVDE0OjAwOjAwLjAwMFoiLCI2YjFmIl0',
  })
  @IsOptional()
  @IsString()
  after?: string;

  @ApiPropertyOptional({
    default: DEFAULT_PAGE_SIZE,
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    description: 'Items per page',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;
}

/** The one list envelope: a page of items and the cursor of the next page (null: this is the last). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

const pageDtos = new Map<string, ClassType<unknown>>();

/** The OpenAPI schema `<Name>Page` = `{items: Name[], next}` for a DTO class (one class per item type). */
export function PageDto<T>(
  item: ClassType<T>,
  name = `${item.name.replace(/Dto$/, '')}PageDto`,
): ClassType<Page<T>> {
  const known = pageDtos.get(name);
  if (known) return known as ClassType<Page<T>>;
  class ItemPage {
    @ApiProperty({ type: () => [item], description: 'This page, in the order of the list' })
    items!: T[];

    @ApiProperty({
      type: String,
      nullable: true,
      description: 'Pass as `after` for the next page; null on the last page',
      example: null,
    })
    next!: string | null;
  }
  Object.defineProperty(ItemPage, 'name', { value: name });
  pageDtos.set(name, ItemPage);
  return ItemPage;
}

/** A cursor value's kind: what it is decoded to. */
export type KeyKind = 'date' | 'uuid' | 'string' | 'bigint';
type KeyValue<K extends KeyKind> = K extends 'date' ? Date : K extends 'bigint' ? bigint : string;
export type DecodedKey<K extends readonly KeyKind[]> = { [I in keyof K]: KeyValue<K[I]> };

function encodeValue(value: Date | bigint | string): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

/** An opaque keyset cursor: the last row's sort key (strings) as base64url JSON. */
export function encodeKey(values: readonly (Date | bigint | string)[]): string {
  return Buffer.from(JSON.stringify(values.map(encodeValue))).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function decodeValue(kind: KeyKind, value: unknown): Date | bigint | string | undefined {
  if (typeof value !== 'string') return undefined;
  switch (kind) {
    case 'date': {
      const at = new Date(value);
      return Number.isNaN(at.getTime()) || at.toISOString() !== value ? undefined : at;
    }
    case 'uuid':
      return UUID.test(value) ? value : undefined;
    case 'bigint':
      return /^\d{1,19}$/.test(value) ? BigInt(value) : undefined;
    case 'string':
      return value;
  }
}

/** The key of a cursor made by `encodeKey` with values of these kinds; anything else is a 422 on `after`. */
export function decodeKey<const K extends readonly KeyKind[]>(cursor: string, kinds: K): DecodedKey<K> {
  try {
    const raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(raw) && raw.length === kinds.length) {
      const values = kinds.map((kind, i) => decodeValue(kind, raw[i]));
      if (values.every((v) => v !== undefined)) return values as DecodedKey<K>;
    }
  } catch {
    // not base64url JSON: answered below
  }
  throw new SemanticError('Invalid cursor', [
    { field: '/after', message: 'must be the `next` value of a previous page' },
  ]);
}

/**
 * The page of `rows` fetched with `take: limit + 1`: the first `limit` rows, and a cursor from the
 * last one's key when there was more.
 */
export function pageOf<R, T>(
  rows: R[],
  limit: number,
  key: (row: R) => readonly (Date | bigint | string)[],
  map: (row: R) => T,
): Page<T> {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map(map), next: rows.length > limit && last ? encodeKey(key(last)) : null };
}
