import { useViewer } from "@/lib/useViewer";
import { Card, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

export default function AdminPage() {
  const { viewer } = useViewer();
  if (viewer && viewer.role !== "ADMIN") return <p className="p-6 text-muted-foreground">The admin console is for operators.</p>;
  return (
    <div className="p-6">
      <Card>
        <CardHeader>
          <CardTitle>Admin console</CardTitle>
          <CardDescription>Operator tools arrive with the admin issue; they will answer only from allow-listed addresses with MFA.</CardDescription>
        </CardHeader>
      </Card>
    </div>
  );
}
