import { Inject, Injectable } from '@nestjs/common';
import { badStrings } from '../../../common/http/input-limits.js';
import { decodeKey, type Page, type PageQueryDto, pageOf } from '../../../common/http/page.js';
import { ConflictError, DomainError, InvalidRequestError } from '../../../common/problem/domain-error.js';
import { ProblemType } from '../../../common/problem/problem-types.js';
import { AuditService } from '../../../infra/audit/audit.service.js';
import { PackageNotFoundError } from './package.errors.js';
import type { ApplicationPackage } from './domain.js';
import type { PackageDto } from './dto/package.dto.js';
import { toPackageDto } from './package.mapper.js';
import { parseApplicationDescription } from './application-description.js';
import { PackageRepository } from './package.repository.js';
import type { PackageRow } from './package-row.js';
import { PACKAGE_USAGE, type PackageUsage } from './package-usage.port.js';

const DESCRIPTION_PROBLEMS = {
  400: [ProblemType.invalidRequest, 'Invalid request'],
  413: [ProblemType.aboutBlank, 'Content Too Large'],
  422: [ProblemType.semanticError, 'Semantic error'],
} as const;

/** Application packages (ApplicationDescriptions): validated on upload, versions kept, immutable once stored. */
@Injectable()
export class PackagesService {
  private readonly parsed = new Map<string, ApplicationPackage>();
  private readonly rows = new Map<string, PackageRow>();

  constructor(
    private readonly packages: PackageRepository,
    @Inject(PACKAGE_USAGE) private readonly usage: PackageUsage,
    private readonly audit: AuditService,
  ) {}

  async upload(source: Buffer, contentType: string | undefined, by: string): Promise<PackageDto> {
    if (source.length === 0) {
      throw new InvalidRequestError('The request needs an ApplicationDescription (margo.yaml) as its body');
    }
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
    const format = type === 'application/json' || type.endsWith('+json') ? 'json' : 'yaml';
    const result = parseApplicationDescription(source.toString('utf8'), format);
    if (!result.ok) {
      const [type, title] = DESCRIPTION_PROBLEMS[result.status];
      throw new DomainError(result.status, type, title, result.detail, { errors: result.errors });
    }
    // the input limit on strings (docs/decisions.md, "Input limits"), also for YAML: PostgreSQL
    // cannot store NUL or unpaired surrogates, which YAML escapes (\0, \ud800) can produce
    const unstorable = badStrings(result.document);
    if (unstorable.length > 0) {
      throw new InvalidRequestError(
        `The application description has a string that cannot be stored: ${unstorable[0].field} ${unstorable[0].message}`,
        unstorable,
      );
    }
    const row = await this.packages.transaction(async (tx) => {
      const created = await this.packages.create(
        {
          applicationId: result.pkg.applicationId,
          version: result.pkg.version,
          name: result.pkg.name,
          document: result.document,
          source,
          contentType: format === 'json' ? 'application/json' : 'application/yaml',
          createdBy: by,
        },
        tx,
      );
      if (created) {
        await this.audit.record(tx, {
          action: 'package.publish',
          resource: { type: 'package', id: `${created.applicationId}/${created.version}` },
          summary: { after: { name: created.name, contentType: created.contentType, bytes: source.length } },
        });
      }
      return created;
    });
    if (!row) {
      throw new ConflictError(
        `Application ${result.pkg.applicationId} version ${result.pkg.version} exists already; publish a new version`,
      );
    }
    this.parsed.set(row.id, result.pkg);
    return toPackageDto(row, result.pkg, 0);
  }

  /** Package versions by application, newest version first, a page at a time. */
  async list(query: PageQueryDto): Promise<Page<PackageDto>> {
    const after = query.after ? decodeKey(query.after, ['string', 'date', 'uuid'] as const) : undefined;
    const rows = await this.packages.list({ after, take: query.limit + 1 });
    const page = pageOf(
      rows,
      query.limit,
      (r) => [r.applicationId, r.createdAt, r.id],
      (r) => r,
    );
    const items = await Promise.all(
      page.items.map(async (row) =>
        toPackageDto(row, this.load(row), await this.usage.deploymentsUsing(row.id)),
      ),
    );
    return { items, next: page.next };
  }

  async get(applicationId: string, version: string): Promise<PackageDto> {
    const row = await this.packages.find(applicationId, version);
    if (!row) throw new PackageNotFoundError(`${applicationId} version ${version}`);
    return toPackageDto(row, this.load(row), await this.usage.deploymentsUsing(row.id));
  }

  /** Refused (409) while a deployment uses the version. */
  async remove(applicationId: string, version: string): Promise<void> {
    const row = await this.packages.find(applicationId, version);
    if (!row) throw new PackageNotFoundError(`${applicationId} version ${version}`);
    const users = await this.usage.deploymentsUsing(row.id);
    if (users > 0) {
      throw new ConflictError(
        `${users} deployment(s) use ${applicationId} version ${version}; delete or move them first`,
      );
    }
    await this.packages.transaction(async (tx) => {
      await this.packages.delete(row.id, tx);
      await this.audit.record(tx, {
        action: 'package.delete',
        resource: { type: 'package', id: `${row.applicationId}/${row.version}` },
        summary: { before: { name: row.name } },
      });
    });
    this.parsed.delete(row.id);
    this.rows.delete(row.id);
  }

  /** The version to deploy: the given one, else the newest. */
  async resolve(
    applicationId: string,
    version?: string,
  ): Promise<{ row: PackageRow; pkg: ApplicationPackage }> {
    const row = version
      ? await this.packages.find(applicationId, version)
      : (await this.packages.versions(applicationId))[0];
    if (!row) throw new PackageNotFoundError(version ? `${applicationId} version ${version}` : applicationId);
    return { row, pkg: this.load(row) };
  }

  /** Package versions are immutable rows: cached per process once read (deleted ones drop out). */
  async byId(packageId: string): Promise<{ row: PackageRow; pkg: ApplicationPackage }> {
    const cached = this.rows.get(packageId);
    if (cached) return { row: cached, pkg: this.load(cached) };
    const row = await this.packages.findById(packageId);
    if (!row) throw new PackageNotFoundError(packageId);
    this.rows.set(packageId, row);
    return { row, pkg: this.load(row) };
  }

  /** Packages are immutable: parse once per process. */
  private load(row: PackageRow): ApplicationPackage {
    let pkg = this.parsed.get(row.id);
    if (!pkg) {
      const result = parseApplicationDescription(
        Buffer.from(row.source).toString('utf8'),
        row.contentType === 'application/json' ? 'json' : 'yaml',
      );
      if (!result.ok) throw new Error(`stored package ${row.id} no longer validates: ${result.detail}`);
      pkg = result.pkg;
      this.parsed.set(row.id, pkg);
    }
    return pkg;
  }
}
