-- CreateTable
CREATE TABLE "device" (
    "id" UUID NOT NULL,
    "client_id" UUID NOT NULL,
    "client_external_id" TEXT NOT NULL,
    "client_profile" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "parent_device_id" TEXT,
    "depth" INTEGER NOT NULL DEFAULT 0,
    "hosting" BOOLEAN NOT NULL,
    "vendor" TEXT NOT NULL,
    "model_number" TEXT NOT NULL,
    "serial_number" TEXT NOT NULL,
    "architectures" TEXT[],
    "max_cores" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "cpus" JSONB NOT NULL DEFAULT '[]',
    "memory_bytes" BIGINT,
    "memory_text" TEXT,
    "storage_bytes" BIGINT,
    "storage_text" TEXT,
    "peripheral_types" TEXT[],
    "interface_types" TEXT[],
    "runtimes" TEXT[],
    "deployment_types" TEXT[],
    "otel_collector" BOOLEAN,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "extensions" JSONB NOT NULL DEFAULT '{}',
    "document" BYTEA NOT NULL,
    "model_hash" TEXT NOT NULL,
    "capability_version" INTEGER NOT NULL DEFAULT 1,
    "recomputed_version" INTEGER NOT NULL DEFAULT 0,
    "first_reported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_reported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_capability_change" (
    "id" BIGSERIAL NOT NULL,
    "client_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "capability_version" INTEGER NOT NULL,
    "changes" JSONB NOT NULL,
    "reported_by" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_capability_change_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_device_id_id_idx" ON "device"("device_id", "id");

-- CreateIndex
CREATE INDEX "device_client_external_id_device_id_idx" ON "device"("client_external_id", "device_id");

-- CreateIndex
CREATE INDEX "device_client_id_parent_device_id_idx" ON "device"("client_id", "parent_device_id");

-- CreateIndex
CREATE INDEX "device_architectures_idx" ON "device" USING GIN ("architectures");

-- CreateIndex
CREATE INDEX "device_peripheral_types_idx" ON "device" USING GIN ("peripheral_types");

-- CreateIndex
CREATE INDEX "device_deployment_types_idx" ON "device" USING GIN ("deployment_types");

-- CreateIndex
CREATE INDEX "device_labels_idx" ON "device" USING GIN ("labels" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "device_max_cores_idx" ON "device"("max_cores");

-- CreateIndex
CREATE INDEX "device_memory_bytes_idx" ON "device"("memory_bytes");

-- CreateIndex
CREATE INDEX "device_storage_bytes_idx" ON "device"("storage_bytes");

-- CreateIndex
CREATE INDEX "device_last_reported_at_idx" ON "device"("last_reported_at");

-- CreateIndex
CREATE UNIQUE INDEX "device_client_id_device_id_key" ON "device"("client_id", "device_id");

-- CreateIndex
CREATE INDEX "device_capability_change_client_id_device_id_id_idx" ON "device_capability_change"("client_id", "device_id", "id");
