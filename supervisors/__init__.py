"""supervisors: an OTP-style supervision library on trio."""
