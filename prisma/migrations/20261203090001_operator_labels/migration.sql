-- DropIndex
DROP INDEX "device_labels_idx";

-- AlterTable
ALTER TABLE "device" ADD COLUMN     "effective_labels" JSONB NOT NULL DEFAULT '{}';

-- CreateTable
CREATE TABLE "device_operator_label" (
    "client_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "set_by" TEXT NOT NULL,
    "set_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_operator_label_pkey" PRIMARY KEY ("client_id","device_id","key")
);

-- CreateIndex
CREATE INDEX "device_effective_labels_idx" ON "device" USING GIN ("effective_labels" jsonb_path_ops);

-- AddForeignKey
ALTER TABLE "device_operator_label" ADD CONSTRAINT "device_operator_label_client_id_device_id_fkey" FOREIGN KEY ("client_id", "device_id") REFERENCES "device"("client_id", "device_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- No operator labels exist yet: what selectors match is what the devices reported.
UPDATE "device" SET "effective_labels" = "labels";
