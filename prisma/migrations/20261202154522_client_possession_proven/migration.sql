-- AlterTable
ALTER TABLE "client" ADD COLUMN     "possession_proven_at" TIMESTAMPTZ(3);
