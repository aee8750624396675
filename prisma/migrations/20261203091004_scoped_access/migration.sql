-- AlterTable
ALTER TABLE "operator_token" ADD COLUMN     "scope" JSONB;

-- AlterTable
ALTER TABLE "deployment" ADD COLUMN     "scope" JSONB;
