import type { LucideIcon } from "lucide-react";

export interface NavItem { to: string; label: string; icon: LucideIcon }
