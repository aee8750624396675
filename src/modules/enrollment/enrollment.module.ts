import { Module } from '@nestjs/common';

/** Who may connect: rc.3 accepted-client policy, legacy onboarding and request signatures, operator tokens. */
@Module({})
export class EnrollmentModule {}
