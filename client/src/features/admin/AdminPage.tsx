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
          <CardDescription>There are no admin tools here yet. When they come, they will only work from approved networks, with two-factor sign-in.</CardDescription>
        </CardHeader>
      </Card>
    </div>
  );
}
