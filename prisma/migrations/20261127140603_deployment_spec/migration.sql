-- CreateTable
CREATE TABLE "application_package" (
    "id" UUID NOT NULL,
    "application_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "document" JSONB NOT NULL,
    "source" BYTEA NOT NULL,
    "content_type" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,

    CONSTRAINT "application_package_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment" (
    "id" UUID NOT NULL,
    "application_id" TEXT NOT NULL,
    "package_id" UUID NOT NULL,
    "profile_id" TEXT,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "target_client_id" UUID,
    "target_device_id" TEXT,
    "selector" JSONB,
    "on_capability_loss" TEXT NOT NULL DEFAULT 'keep',
    "revision" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment_target" (
    "id" UUID NOT NULL,
    "deployment_id" UUID NOT NULL,
    "client_id" UUID NOT NULL,
    "client_external_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "placement" TEXT NOT NULL,
    "reasons" JSONB NOT NULL DEFAULT '[]',
    "profile_id" TEXT,
    "overrides" JSONB NOT NULL DEFAULT '{}',
    "locked_immutable" JSONB,
    "digest" TEXT,
    "size_bytes" INTEGER,
    "cores" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "memory_bytes" BIGINT NOT NULL DEFAULT 0,
    "storage_bytes" BIGINT NOT NULL DEFAULT 0,
    "in_manifest" BOOLEAN NOT NULL DEFAULT false,
    "rendered_revision" INTEGER,
    "manifest_version" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "deployment_target_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rendered_document" (
    "client_id" UUID NOT NULL,
    "digest" TEXT NOT NULL,
    "deployment_target_id" UUID NOT NULL,
    "bytes" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rendered_document_pkey" PRIMARY KEY ("client_id","digest")
);

-- CreateTable
CREATE TABLE "bundle" (
    "client_id" UUID NOT NULL,
    "digest" TEXT NOT NULL,
    "bytes" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "bundle_pkey" PRIMARY KEY ("client_id","digest")
);

-- CreateTable
CREATE TABLE "client_manifest" (
    "client_id" UUID NOT NULL,
    "client_external_id" TEXT NOT NULL,
    "client_profile" TEXT NOT NULL,
    "version" BIGINT NOT NULL,
    "etag" TEXT NOT NULL,
    "body" BYTEA NOT NULL,
    "content_key" TEXT NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_polled_at" TIMESTAMPTZ(3),
    "last_polled_version" BIGINT,

    CONSTRAINT "client_manifest_pkey" PRIMARY KEY ("client_id")
);

-- CreateTable
CREATE TABLE "manifest_issue" (
    "client_id" UUID NOT NULL,
    "version" BIGINT NOT NULL,
    "digests" TEXT[],
    "issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "manifest_issue_pkey" PRIMARY KEY ("client_id","version")
);

-- CreateIndex
CREATE UNIQUE INDEX "application_package_application_id_version_key" ON "application_package"("application_id", "version");

-- CreateIndex
CREATE INDEX "deployment_application_id_idx" ON "deployment"("application_id");

-- CreateIndex
CREATE INDEX "deployment_target_client_id_target_device_id_idx" ON "deployment"("target_client_id", "target_device_id");

-- CreateIndex
CREATE INDEX "deployment_target_client_id_device_id_idx" ON "deployment_target"("client_id", "device_id");

-- CreateIndex
CREATE INDEX "deployment_target_deployment_id_placement_idx" ON "deployment_target"("deployment_id", "placement");

-- CreateIndex
CREATE UNIQUE INDEX "deployment_target_deployment_id_client_id_device_id_key" ON "deployment_target"("deployment_id", "client_id", "device_id");

-- CreateIndex
CREATE INDEX "manifest_issue_issued_at_idx" ON "manifest_issue"("issued_at");
